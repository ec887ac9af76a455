#include "int_wo_gemm.hpp"

namespace incq::inc_cpu {

void dequantize_tile(const IntWoMatrix& w, int64_t k0, int64_t kc, int64_t n0, int64_t nb,
                     float tile[kDepthChunk][kColumnBlock]) {
  for (int64_t kk = 0; kk < kc; ++kk) {
    const int64_t k = k0 + kk;
    const int64_t g = w.group_of(k);  // once per row: it is a division without g_idx
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t n = n0 + j;
      // Same exact fp32 product as IntWoMatrix::weight_at.
      tile[kk][j] = w.scale_at(g, n) * static_cast<float>(w.code_at(k, n) - w.zero_at(g, n));
    }
  }
}

}  // namespace incq::inc_cpu
