// Activations into the fast kernels: a row of x (F32/BF16/F16) read as fp32 (exact), and the
// matrix's input quantizer applied bit-exactly through the reference's own quantizers
// (act_quant_fp8.hpp, mx_act_quant.hpp; docs/formats.md §3), so x' is the reference's x'.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FLOAT_INPUT_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FLOAT_INPUT_HPP

#include <cstdint>

#include "float_matrix.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

// out[0, cols) = row r of v as fp32 (exact for F32/BF16/F16).
void load_row_f32(const MatrixView& v, int64_t r, float* out);

// x' of one row src [w.K] (fp32 values): into out_f (fp32, may be null; exact for MX/MXINT, rounded
// once for NV and FP8 whose x' = q * s has more than 24 bits) and/or out_d (double, exact; may be
// null). tmp: [w.K] doubles, used when the matrix quantizes its input. Without a quantizer x' = x.
void float_input_row(const FloatMatrix& w, const float* src, float* out_f, double* out_d, double* tmp);

// Whether x' must be computed (and tmp is needed).
inline bool quantizes_input(const FloatMatrix& w) { return w.input != InputQuant::None; }

}  // namespace incq::inc_cpu

#endif
