// The fast float-format Linear (FP8 weight-only and W8A8, MXFP4/MXFP8/NVFP4/MXINT4 with or without
// activation quantization): y = x' W^T + bias through float_gemm_f32 (or, for FP8 elements with bf16
// x at decode sizes, the bf16 GEMV of float_gemm.hpp), rows of x converted in chunks
// into leased scratch (no heap allocation), column blocks spread over the host's pool.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FLOAT_LINEAR_FAST_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FLOAT_LINEAR_FAST_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "float_matrix.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_cpu {

// Scratch one apply of this matrix leases (reserve it at process time).
size_t float_linear_scratch_bytes(const FloatMatrix& w);

// x [M, K], y [M, N] in act_dtype, any row stride. Throws StatusError naming `layer` before writing
// anything (bad tensors; with FP8 activation quantization, a non-finite x with its index).
void float_linear_apply_fast(const FloatMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                             incq_tensor* y, const incq_exec* exec);

// The largest K (and, for MoE, H and I) the declared fp32 tolerance holds for.
constexpr int64_t kFloatFastMaxDepth = 65536;
// Max |y - y_oracle| <= kFloatFastTolerance * (sum_k |x'_k w_kn| + |b_n|) before output rounding,
// for K <= kFloatFastMaxDepth. Why (u = 2^-24): each decoded weight times its scale rounds once (u),
// x' rounds once for NV/FP8 (u), each lane sums at most K/16 + 1 products in fp32 (gamma), 16 lanes
// and at most K/512 cache-block partials add log2(16) + K/512 more, then post-scale and bias (2u):
// (K/16 + K/512 + 10) u <= 4234 u = 2.5e-4 at K = 65536 (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1). The bf16 GEMV (FP8 elements, bf16 x, M <= 4, compute_type auto / bf16)
// keeps it: exact products, (G/16 + K/G + 8) u <= (K/16 + 9) u (docs/compute_modes_float.md).
constexpr double kFloatFastTolerance = 2.6e-4;

}  // namespace incq::inc_cpu

#endif
