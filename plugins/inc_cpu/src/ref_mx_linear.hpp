// The reference block-scaled Linear (MXFP4, MXFP8, NVFP4, MXINT4; weight-only or with AutoRound's
// dynamic activation quantization): y = act_quant(x) * W^T + bias, the oracle faster kernels are
// checked against.
#ifndef INCQ_INC_CPU_REF_MX_LINEAR_HPP
#define INCQ_INC_CPU_REF_MX_LINEAR_HPP

#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "mx_weights.hpp"

namespace incq::inc_cpu {

// Max |y - y_oracle| <= kRefMxTolerance * (sum_k |xq_k w_kn| + |b_n|) before the output rounding,
// xq being x after the activation quantizer. Why: decoded weights and every product are exact in
// double, so the error is the double summation of K + 1 terms (gamma_{K+1}, u = 2^-53; Higham,
// "Accuracy and Stability of Numerical Algorithms", §3.1) plus one division by the NVFP4 global
// scale (u): below 1e-11 for K up to 90,000. The activation quantizer itself is deterministic and
// part of the definition, not of the error.
constexpr double kRefMxTolerance = 1e-11;

// x as doubles [M, K] (row-major), each row passed through w.input_quant.
void load_quantized_rows(const MxMatrix& w, const incq_tensor* x, const std::string& layer, int32_t act_dtype,
                         std::vector<double>& out, int64_t* rows);

// x [M, K] and y [M, N] in `act_dtype`, any row stride. Throws StatusError on a bad argument
// (naming `layer`) before writing anything. The quantized activations live in one per-call buffer
// (the reference's simplicity over the hot path's no-allocation rule); column blocks go through
// exec->parallel_for when the host supplies one.
void ref_mx_linear_apply(const MxMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                         incq_tensor* y, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
