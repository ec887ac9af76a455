// The reference FP8 Linear: y = x' * W^T + bias with W [N, K] decoded exactly, x' = x (weight-only)
// or x quantized to E4M3 per act group (W8A8, act_quant_fp8.hpp). The oracle for faster kernels.
#ifndef INCQ_INC_CPU_REF_FP8_LINEAR_HPP
#define INCQ_INC_CPU_REF_FP8_LINEAR_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "fp8_weights.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_cpu {

// Max |y - y_oracle| <= kRefFp8Tolerance * (sum_k |x'_k w_kn| + |b_n|) before the output rounding,
// against an oracle that quantizes x the same way (docs/formats.md §3: the codes and scales are
// bit-exact, so x' is the same exact double on both sides). Why: w = fp8 * scale is exact in
// double (<= 4 + 24 significant bits); x * w is exact for an unquantized x (24 + 28 bits) and
// rounds once (relative 2^-53) for x' = q * s (up to 28 bits); the double sum of K + 1 terms adds
// at most gamma_{K+1} (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). So the bound
// is (K + 2) * 2^-53 / (1 - (K + 2) * 2^-53), below 1e-11 for K up to about 90,000.
constexpr double kRefFp8Tolerance = 1e-11;

// How x is quantized before the product.
struct Fp8ActQuant {
  bool enabled = false;  // false: weight-only (act_bits 16)
  int64_t group = -1;    // elements per scale along K; -1 = the whole row
};

// x' for rows of already-exact float values: row-major [rows, K] doubles -> [rows, K] doubles.
// Throws INVALID_ARGUMENT naming the layer, row and column of a non-finite activation.
void fp8_quantize_rows(const Fp8ActQuant& aq, const std::string& layer, const std::string& role,
                       const std::vector<double>& x, int64_t rows, int64_t K, std::vector<double>& out);

// x [M, K] and y [M, N] in act_dtype, any row stride. Throws StatusError on a bad argument (naming
// `layer`) before writing anything. Weight-only apply allocates nothing; W8A8 allocates the
// quantized x (M * K doubles). Column blocks go through exec->parallel_for when the host lends it.
void ref_fp8_linear_apply(const Fp8Matrix& w, const Fp8ActQuant& aq, const std::string& layer, int32_t act_dtype,
                          const incq_tensor* x, incq_tensor* y, const incq_exec* exec);

// dst [rows, w.N] = src' [rows, w.K] * W^T + bias, all in double; src' = src quantized per aq
// (each value first rounded to fp32, as the contract reads activations). For MoE.
void fp8_gemm_double(const Fp8Matrix& w, const Fp8ActQuant& aq, const std::string& layer,
                     const std::vector<double>& src, int64_t rows, std::vector<double>& dst,
                     const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
