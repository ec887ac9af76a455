// The reference block-scaled product for one block of output columns:
// y[m, n] = (sum_k x[m, k] * e[n, k] * s[n, k / group]) / global + bias[n], with x already
// quantized (or not) as double, e the element value and s the block scale. Every product is exact
// in double (x has at most 53 significant bits only when it is a double intermediate; from F32/F16/
// BF16 or an activation quantizer it has at most 24, elements at most 4 and scales 1 or 4), the sum
// runs over k in increasing order in double whatever the threading, and the NVFP4 global scale is
// divided out once at the end instead of once per weight.
#ifndef INCQ_INC_CPU_MX_GEMM_HPP
#define INCQ_INC_CPU_MX_GEMM_HPP

#include <algorithm>
#include <cstdint>

#include "mx_weights.hpp"

namespace incq::inc_cpu {

constexpr int64_t kMxColumnBlock = 16;  // output columns per block (the unit of parallel work)
constexpr int64_t kMxRowChunk = 16;     // rows of x sharing one decode of a weight block
constexpr int64_t kMxMaxGroup = 32;

inline int64_t mx_column_block_count(const MxMatrix& w) { return (w.N + kMxColumnBlock - 1) / kMxColumnBlock; }

// x is [M, w.K] row-major doubles. store_y(m, n, value) receives the result in double.
template <typename StoreY>
void mx_gemm_column_block(const MxMatrix& w, const double* x, int64_t M, int64_t block, StoreY&& store_y) {
  const int64_t n0 = block * kMxColumnBlock;
  const int64_t n1 = std::min(w.N, n0 + kMxColumnBlock);
  const int64_t group = w.format.group;
  double dq[kMxMaxGroup];
  double acc[kMxRowChunk];
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t m0 = 0; m0 < M; m0 += kMxRowChunk) {
      const int64_t mc = std::min(kMxRowChunk, M - m0);
      std::fill(acc, acc + mc, 0.0);
      for (int64_t g = 0; g < w.groups(); ++g) {
        const double s = w.scale_at(n, g);
        for (int64_t i = 0; i < group; ++i) dq[i] = w.element_at(n, g * group + i) * s;
        for (int64_t mi = 0; mi < mc; ++mi) {
          const double* xr = x + (m0 + mi) * w.K + g * group;
          double a = acc[mi];
          for (int64_t i = 0; i < group; ++i) a += xr[i] * dq[i];
          acc[mi] = a;
        }
      }
      for (int64_t mi = 0; mi < mc; ++mi) store_y(m0 + mi, n, acc[mi] / w.weight_global_scale + w.bias_at(n));
    }
  }
}

}  // namespace incq::inc_cpu

#endif
