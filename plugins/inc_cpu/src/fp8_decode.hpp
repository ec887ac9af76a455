// FP8 element codes -> exact float values, written from the format definitions (OCP 8-bit
// floating point specification v1.0, 2023; the same encodings PyTorch names float8_e4m3fn and
// float8_e5m2):
//   E4M3: sign, 4 exponent bits (bias 7), 3 mantissa bits. No infinities; S.1111.111 is NaN, so the
//         largest finite value is S.1111.110 = 448. Exponent 0 is subnormal: m * 2^-9.
//   E5M2: sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE-like: exponent 31 is Inf
//         (mantissa 0) or NaN; largest finite 57344. Exponent 0 is subnormal: m * 2^-16.
// Every FP8 value has at most 4 significant bits, so it is exact in float (and any product with
// a float scale is exact in double).
#ifndef INCQ_INC_CPU_FP8_DECODE_HPP
#define INCQ_INC_CPU_FP8_DECODE_HPP

#include <cstdint>

namespace incq::inc_cpu {

float decode_e4m3(uint8_t code);
float decode_e5m2(uint8_t code);

// A 256-entry table of decode_e4m3 or decode_e5m2 for dtype INCQ_DTYPE_F8_E4M3 / F8_E5M2
// (NaN / Inf entries included), built once; nullptr for any other dtype.
const float* fp8_decode_table(int32_t dtype);

}  // namespace incq::inc_cpu

#endif
