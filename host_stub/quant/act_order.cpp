#include "quant/act_order.hpp"

#include <numeric>
#include <random>

#include "common/error.hpp"

namespace incq::host::quant {

std::vector<int32_t> make_act_order_g_idx(int64_t K, int group_size, uint64_t seed) {
  if (K < 0 || (group_size != -1 && group_size <= 0))
    throw Error("make_act_order_g_idx: K must be >= 0 and group_size -1 or positive");
  const int64_t G = group_size == -1 ? (K > 0 ? K : 1) : group_size;
  std::vector<int64_t> perm(static_cast<size_t>(K));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  // Fisher-Yates with mt19937_64 (whose output sequence the standard fixes) and a plain modulo:
  // the tiny modulo bias does not matter for test data, portability does.
  std::mt19937_64 rng(seed);
  for (int64_t i = K - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  std::vector<int32_t> g_idx(static_cast<size_t>(K));
  for (int64_t i = 0; i < K; ++i) g_idx[perm[i]] = static_cast<int32_t>(i / G);
  return g_idx;
}

}  // namespace incq::host::quant
