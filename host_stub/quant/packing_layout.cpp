#include "quant/packing_layout.hpp"

#include <fmt/format.h>

namespace incq::host::quant {

std::string packing_name(incq_packing packing) {
  switch (packing) {
    case INCQ_PACKING_GPTQ_V1: return "GPTQ_V1";
    case INCQ_PACKING_GPTQ_V2: return "GPTQ_V2";
    case INCQ_PACKING_AWQ: return "AWQ";
    default: return fmt::format("packing {}", static_cast<int>(packing));
  }
}

std::string packing_limits_violation(int64_t K, int64_t N, int bits, int group_size, incq_packing packing) {
  if (K <= 0 || N <= 0) return fmt::format("K={} and N={} must be positive", K, N);
  if (group_size != -1 && group_size <= 0)
    return fmt::format("group_size={} must be -1 or positive", group_size);
  switch (packing) {
    case INCQ_PACKING_GPTQ_V1:
    case INCQ_PACKING_GPTQ_V2:
      if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        return fmt::format("{} holds 2, 3, 4 or 8 bits, not {}", packing_name(packing), bits);
      // qweight packs along K and qzeros along N, each column/row as whole 32-bit words.
      if (K * bits % 32 != 0) return fmt::format("GPTQ needs K*bits % 32 == 0 (K={}, bits={})", K, bits);
      if (N * bits % 32 != 0) return fmt::format("GPTQ needs N*bits % 32 == 0 (N={}, bits={})", N, bits);
      return {};
    case INCQ_PACKING_AWQ:
      if (bits != 4) return fmt::format("AWQ holds 4 bits only, not {}", bits);
      if (N % 8 != 0) return fmt::format("AWQ needs N % 8 == 0 (N={})", N);
      return {};
    default:
      return fmt::format("{} is not an integer packing (GPTQ_V1, GPTQ_V2 or AWQ)", packing_name(packing));
  }
}

int64_t group_count(int64_t K, int group_size) {
  const int64_t G = group_size == -1 ? K : group_size;
  return G <= 0 ? 0 : (K + G - 1) / G;
}

PackedShapes packed_shapes(int64_t K, int64_t N, int bits, int group_size, incq_packing packing) {
  const int64_t groups = group_count(K, group_size);
  PackedShapes s{};
  if (packing == INCQ_PACKING_AWQ) {
    s.qweight = {K, N / 8};
    s.qzeros = {groups, N / 8};
  } else {
    s.qweight = {K * bits / 32, N};
    s.qzeros = {groups, N * bits / 32};
  }
  s.scales = {groups, N};
  s.g_idx = K;
  return s;
}

std::array<int32_t, 2> zero_range(int bits, incq_packing packing) {
  if (packing == INCQ_PACKING_GPTQ_V1) return {1, 1 << bits};
  return {0, (1 << bits) - 1};
}

int32_t zero_offset(incq_packing packing) { return packing == INCQ_PACKING_GPTQ_V1 ? -1 : 0; }

}  // namespace incq::host::quant
