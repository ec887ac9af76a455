// The reference FP8 product for one block of output columns:
// y[m, n] = sum_k x[m, k] * w[n, k] + bias[n], with w exact in double and the sum in double, k in
// increasing order whatever the split (results do not depend on threading). No heap allocation:
// the accumulators and the decoded weight tile live on the stack.
#ifndef INCQ_INC_CPU_FP8_GEMM_HPP
#define INCQ_INC_CPU_FP8_GEMM_HPP

#include <algorithm>
#include <cstdint>

#include "fp8_weights.hpp"

namespace incq::inc_cpu {

constexpr int64_t kFp8ColumnBlock = 64;  // output columns per block (the unit of parallel work)
constexpr int64_t kFp8RowChunk = 16;     // rows of x sharing one pass over the weights
constexpr int64_t kFp8DepthChunk = 32;   // K elements decoded at a time
// Stack use: 16*64 + 32*64 doubles (24 KiB).

inline int64_t fp8_column_block_count(const Fp8Matrix& w) {
  return (w.N + kFp8ColumnBlock - 1) / kFp8ColumnBlock;
}

// load_x(m, k) returns x[m, k] as double; store_y(m, n, value) receives the double result.
template <typename LoadX, typename StoreY>
void fp8_gemm_column_block(const Fp8Matrix& w, int64_t M, int64_t block, LoadX&& load_x, StoreY&& store_y) {
  const int64_t n0 = block * kFp8ColumnBlock;
  const int64_t nb = std::min(kFp8ColumnBlock, w.N - n0);
  double acc[kFp8RowChunk][kFp8ColumnBlock];
  double tile[kFp8DepthChunk][kFp8ColumnBlock];
  for (int64_t m0 = 0; m0 < M; m0 += kFp8RowChunk) {
    const int64_t mc = std::min(kFp8RowChunk, M - m0);
    for (int64_t mi = 0; mi < mc; ++mi) std::fill(acc[mi], acc[mi] + nb, 0.0);
    for (int64_t k0 = 0; k0 < w.K; k0 += kFp8DepthChunk) {
      const int64_t kc = std::min(kFp8DepthChunk, w.K - k0);
      for (int64_t kk = 0; kk < kc; ++kk)
        for (int64_t j = 0; j < nb; ++j) tile[kk][j] = w.weight_at(n0 + j, k0 + kk);
      for (int64_t mi = 0; mi < mc; ++mi) {
        for (int64_t kk = 0; kk < kc; ++kk) {
          const double xv = load_x(m0 + mi, k0 + kk);
          // x from F32/BF16/F16 (24 bits) times w (<= 4 + 24 bits) is exact in double; a
          // quantized x' (<= 28 bits) times w may round once, inside the declared tolerance.
          for (int64_t j = 0; j < nb; ++j) acc[mi][j] += xv * tile[kk][j];
        }
      }
    }
    for (int64_t mi = 0; mi < mc; ++mi)
      for (int64_t j = 0; j < nb; ++j) store_y(m0 + mi, n0 + j, acc[mi][j] + w.bias_at(n0 + j));
  }
}

}  // namespace incq::inc_cpu

#endif
