// The reference W4A8 Linear: int4 symmetric GPTQ weights, x quantized per token to int8
// (act_quant_int8.hpp), int32 accumulation per weight group, then acc * s_x * s_w in double:
//   y[m, n] = sum_g double(acc[m, g, n]) * s_x[m] * s_w[g, n] + bias[n],
//   acc[m, g, n] = sum_{k in group g} q_x[m, k] * (q_w[k, n] - 8)   (exact in int32).
#ifndef INCQ_INC_CPU_REF_W4A8_LINEAR_HPP
#define INCQ_INC_CPU_REF_W4A8_LINEAR_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "int_wo_matrix.hpp"

namespace incq::inc_cpu {

// Max |y - y_oracle| <= kRefW4a8Tolerance * (sum_k |x'_k w_kn| + |b_n|) before the output rounding,
// where x' = q_x * s_x is the quantized activation and the oracle quantizes x the same way
// (docs/formats.md §3 INT: q_x and s_x are bit-exact on both sides). Derivation: each group's
// int32 sum is exact (|q_x| <= 128 times |q_w - 8| <= 8, far from 2^31); acc * s_x and the product
// with s_w round twice (relative 2^-53 each), and |acc * s_x * s_w| <= the group's share of
// sum |x' w|; the double sum over ceil(K/G) + 1 terms adds gamma_{K/G+1}. So the bound is about
// (K/G + 3) * 2^-53: 1e-11 covers any K/G below ~90,000. Against the unquantized (W4A16) oracle
// there is no bound of this form: the int8 rounding of x is the lossy step (up to s_x / 2 per
// element), which is why this implementation ranks below the weight-only reference.
constexpr double kRefW4a8Tolerance = 1e-11;

// Per-token int8 activations of `rows` rows of K values.
struct Int8Rows {
  int64_t K = 0;
  std::vector<int8_t> q;   // [rows, K]
  std::vector<float> scale;  // [rows], s_x
};

// x [rows, K] holds exact activations (F32/BF16/F16 values, or MoE intermediates, which are
// rounded to fp32 first as the contract reads activations). Throws INVALID_ARGUMENT naming the layer,
// `role` and the [row, column] of a NaN or Inf.
Int8Rows quantize_rows_int8(const std::string& layer, const std::string& role, const std::vector<double>& x,
                            int64_t rows, int64_t K);

// One output: sum over groups of double(acc) * s_x * s_w, plus the bias.
double w4a8_output(const IntWoMatrix& w, const Int8Rows& x, int64_t m, int64_t n);

// x [M, K], y [M, N] in act_dtype, any row stride; nothing written before every check passed.
// Allocates the quantized activations (M * K bytes) per call; column blocks go through
// exec->parallel_for when the host lends it.
void ref_w4a8_linear_apply(const IntWoMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                           incq_tensor* y, const incq_exec* exec);

// dst [rows, w.N] = src' [rows, w.K] * W + bias in double, src' = src quantized per token. For MoE.
void w4a8_gemm_double(const IntWoMatrix& w, const std::string& layer, const std::vector<double>& src, int64_t rows,
                      std::vector<double>& dst, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
