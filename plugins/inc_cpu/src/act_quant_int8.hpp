// Dynamic per-token symmetric int8 activation quantization (W4A8), docs/formats.md §3 "INT" and
// DESIGN §4: a = max |x| over the row (exact), s = fp32(a / 127), q = clamp(RNE(fp32(x / s)),
// -128, 127); x' = q * s. A row of zeros has a = 0: s = 0 and every q = 0 (no division), so such a
// row contributes nothing and y is the bias alone.
#ifndef INCQ_INC_CPU_ACT_QUANT_INT8_HPP
#define INCQ_INC_CPU_ACT_QUANT_INT8_HPP

#include <cstdint>

namespace incq::inc_cpu {

// x [K] must be finite (a NaN has no int8 code; the caller reports it). Writes q [K]; returns s.
float quantize_row_int8(const float* x, int64_t K, int8_t* q);

}  // namespace incq::inc_cpu

#endif
