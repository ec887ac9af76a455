// The reference integer weight-only product for one block of output columns:
// y[m, n] = sum_k x[m, k] * w[k, n] + bias[n], with w = scale * (q - zero) exact in fp32 and the
// sum in double. It allocates nothing: the accumulators and the dequantized tile live on the
// stack, so Linear apply can use it on the hot path.
#ifndef INCQ_INC_CPU_INT_WO_GEMM_HPP
#define INCQ_INC_CPU_INT_WO_GEMM_HPP

#include <algorithm>
#include <cstdint>

#include "int_wo_matrix.hpp"

namespace incq::inc_cpu {

constexpr int64_t kColumnBlock = 64;  // output columns per block (the unit of parallel work)
constexpr int64_t kRowChunk = 16;     // rows of x sharing one pass over the weights
constexpr int64_t kDepthChunk = 32;   // K rows dequantized at a time
// Stack use: 16*64 doubles (8 KiB) + 32*64 floats (8 KiB).

inline int64_t column_block_count(const IntWoMatrix& w) {
  return (w.N + kColumnBlock - 1) / kColumnBlock;
}

// tile[kk][j] = w[k0 + kk, n0 + j] for kk < kc, j < nb.
void dequantize_tile(const IntWoMatrix& w, int64_t k0, int64_t kc, int64_t n0, int64_t nb,
                     float tile[kDepthChunk][kColumnBlock]);

// Computes output column block `block` for rows [0, M). load_x(m, k) returns x[m, k] as double;
// store_y(m, n, value) receives the exact-as-double result. Each output's sum runs over k in
// increasing order whatever the split, so results do not depend on threading.
template <typename LoadX, typename StoreY>
void int_wo_gemm_column_block(const IntWoMatrix& w, int64_t M, int64_t block, LoadX&& load_x,
                              StoreY&& store_y) {
  const int64_t n0 = block * kColumnBlock;
  const int64_t nb = std::min(kColumnBlock, w.N - n0);
  double acc[kRowChunk][kColumnBlock];
  float tile[kDepthChunk][kColumnBlock];
  for (int64_t m0 = 0; m0 < M; m0 += kRowChunk) {
    const int64_t mc = std::min(kRowChunk, M - m0);
    for (int64_t mi = 0; mi < mc; ++mi) std::fill(acc[mi], acc[mi] + nb, 0.0);
    for (int64_t k0 = 0; k0 < w.K; k0 += kDepthChunk) {
      const int64_t kc = std::min(kDepthChunk, w.K - k0);
      dequantize_tile(w, k0, kc, n0, nb, tile);
      for (int64_t mi = 0; mi < mc; ++mi) {
        for (int64_t kk = 0; kk < kc; ++kk) {
          const double xv = load_x(m0 + mi, k0 + kk);
          // With x read from F32/BF16/F16 the product is exact in double (24 + 24 bits < 53).
          for (int64_t j = 0; j < nb; ++j) acc[mi][j] += xv * static_cast<double>(tile[kk][j]);
        }
      }
    }
    for (int64_t mi = 0; mi < mc; ++mi) {
      for (int64_t j = 0; j < nb; ++j) store_y(m0 + mi, n0 + j, acc[mi][j] + w.bias_at(n0 + j));
    }
  }
}

}  // namespace incq::inc_cpu

#endif
