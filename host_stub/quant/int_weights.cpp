#include "quant/int_weights.hpp"

#include <cstddef>

namespace incq::host::quant {

int64_t IntWeights::effective_group_size() const { return group_size == -1 ? K : group_size; }

int64_t IntWeights::num_groups() const {
  const int64_t G = effective_group_size();
  if (G <= 0) return 0;
  return (K + G - 1) / G;
}

int32_t IntWeights::group_of(int64_t k) const {
  if (!g_idx.empty()) return g_idx[static_cast<size_t>(k)];
  return static_cast<int32_t>(k / effective_group_size());
}

}  // namespace incq::host::quant
