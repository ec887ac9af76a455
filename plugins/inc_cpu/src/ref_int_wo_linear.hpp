// The reference integer weight-only Linear: y = x * W + bias, the oracle fast kernels are checked
// against.
#ifndef INCQ_INC_CPU_REF_INT_WO_LINEAR_HPP
#define INCQ_INC_CPU_REF_INT_WO_LINEAR_HPP

#include <string>

#include "incq/plugin_api.h"
#include "int_wo_matrix.hpp"

namespace incq::inc_cpu {

// Max |y - y_oracle| <= kRefIntWoTolerance * (sum_k |x_k w_kn| + |b_n|) before the output rounding.
// Why: dequantization is exact in fp32 and every product x*w is exact in double, so the only error
// is the double-precision summation of K + 1 terms, bounded by gamma_{K+1} = (K+1)u / (1-(K+1)u)
// with u = 2^-53 (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1). For K up to
// 90,000 that is below 1e-11. (MoE adds the same order of error through its two products and a
// correctly-rounded-ish exp; 1e-11 covers it too.)
constexpr double kRefIntWoTolerance = 1e-11;

// x [M, K] and y [M, N] in `act_dtype`, any row stride. Throws StatusError on a bad argument
// (naming `layer`) before writing anything. No heap allocation; column blocks go through
// exec->parallel_for when the host supplies one.
void ref_int_wo_linear_apply(const IntWoMatrix& w, const std::string& layer, int32_t act_dtype,
                             const incq_tensor* x, incq_tensor* y, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
