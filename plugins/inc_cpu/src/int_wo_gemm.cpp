#include "int_wo_gemm.hpp"

namespace incq::inc_cpu {

void dequantize_tile(const IntWoMatrix& w, int64_t k0, int64_t kc, int64_t n0, int64_t nb,
                     float tile[kDepthChunk][kColumnBlock]) {
  for (int64_t kk = 0; kk < kc; ++kk) {
    for (int64_t j = 0; j < nb; ++j) tile[kk][j] = w.weight_at(k0 + kk, n0 + j);
  }
}

}  // namespace incq::inc_cpu
