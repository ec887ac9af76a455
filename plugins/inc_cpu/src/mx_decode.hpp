// Decoding the element and scale encodings of MXFP4 / MXFP8 / NVFP4 / MXINT4 checkpoints, and the
// round-to-nearest-even encoders activation quantization needs. Written from the formats'
// definitions:
//  - E2M1 (OCP Microscaling Formats v1.0, §5.3.3): bit 3 sign, bits 0-2 index
//    {0, 0.5, 1, 1.5, 2, 3, 4, 6}.
//  - E4M3 "fn" (OCP OFP8): bias 7, subnormals m/8 * 2^-6, no infinities, S.1111.111 is NaN, max 448.
//  - E8M0 (OCP MX §5.4.1): 2^(s - 127), s = 255 is NaN.
//  - MXINT4 elements as AutoRound 0.16.1 packs them (auto_round/experimental/qmodules/
//    mxint4_utils.py, _E0M4_VALUES): sign-magnitude, bit 3 sign, bits 0-2 = k, value k / 4
//    (so 0..1.75; code 8 is -0).
// Every decoded value is exact in float and double.
#ifndef INCQ_INC_CPU_MX_DECODE_HPP
#define INCQ_INC_CPU_MX_DECODE_HPP

#include <cmath>
#include <cstdint>

namespace incq::inc_cpu {

inline float e2m1_value(uint8_t nibble) {
  static constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float m = kMagnitude[nibble & 0x7u];
  return (nibble & 0x8u) ? -m : m;
}

inline float mxint4_value(uint8_t nibble) {
  const float m = static_cast<float>(nibble & 0x7u) * 0.25f;
  return (nibble & 0x8u) ? -m : m;
}

inline bool e4m3_is_nan(uint8_t b) { return (b & 0x7Fu) == 0x7Fu; }

// NaN for the NaN encodings; callers reject those first.
inline float e4m3_value(uint8_t b) {
  if (e4m3_is_nan(b)) return std::nanf("");
  const int e = (b >> 3) & 0xF;
  const int m = b & 0x7;
  const float mag = e == 0 ? std::ldexp(static_cast<float>(m), -9)           // m/8 * 2^-6
                           : std::ldexp(static_cast<float>(8 + m), e - 10);  // (1 + m/8) 2^(e-7)
  return (b & 0x80u) ? -mag : mag;
}

inline bool e8m0_is_nan(uint8_t s) { return s == 0xFFu; }

// 2^(s-127): 2^-127 .. 2^127, exact in double (and in float, 2^-127 being a float subnormal).
inline double e8m0_value(uint8_t s) { return std::ldexp(1.0, static_cast<int>(s) - 127); }

// floor(log2(a)) for a finite a > 0, exactly (frexp: a = f * 2^e with f in [0.5, 1)).
inline int floor_log2(double a) {
  int e = 0;
  std::frexp(a, &e);
  return e - 1;
}

// An element format of AutoRound's MX table (auto_round/data_type/mxfp.py, MXFP_FORMAT_CACHE:
// ebits, mbits, emax, max_norm). mbits counts the implicit bit and the sign, as AutoRound does:
// the mantissa step at exponent p is 2^(p - (mbits - 2)).
struct ElementFormat {
  int ebits;
  int mbits;
  int emax;
  double max_norm;
};
constexpr ElementFormat kE2M1Format{2, 3, 2, 6.0};     // "mx_fp4"
constexpr ElementFormat kE4M3Format{4, 5, 8, 448.0};   // "mx_fp8" (e4m3)
constexpr ElementFormat kInt4Format{0, 4, 0, 1.75};    // "mx_int4"

// Rounds t to the nearest value of the format, ties to even, saturating at +-max_norm: the element
// step of AutoRound's quant_element (mxfp.py) with mantissa_rounding "even", whose
// floor(|t| + 0.5) - [(|t| - 0.5) mod 2 == 0] is round-half-to-even on the scaled value. The
// exponent floor is 2 - 2^(ebits-1) (its min_exp): subnormals below it. Every operation is exact.
inline double round_to_element(double t, const ElementFormat& f) {
  t = std::fmax(-f.max_norm, std::fmin(f.max_norm, t));
  int p = 0;
  if (f.ebits != 0) {
    const int min_exp = 2 - (1 << (f.ebits - 1));
    p = t == 0.0 ? min_exp : floor_log2(std::fabs(t));
    if (p < min_exp) p = min_exp;
  }
  const int shift = p - (f.mbits - 2);
  // nearbyint under the default rounding mode is round-half-to-even.
  const double q = std::ldexp(std::nearbyint(std::ldexp(t, -shift)), shift);
  return std::fmax(-f.max_norm, std::fmin(f.max_norm, q));
}

// Rounds a float to E4M3 (ties to even, subnormals down to 2^-9), the value of torch's
// float -> float8_e4m3fn cast for |v| <= 448 (callers clamp first, as AutoRound does).
inline float round_to_e4m3(float v) {
  const double a = std::fabs(static_cast<double>(v));
  if (a == 0.0) return v;
  int p = floor_log2(a);
  if (p < -6) p = -6;  // subnormal step 2^-9
  const int shift = p - 3;
  const double q = std::fmin(448.0, std::ldexp(std::nearbyint(std::ldexp(a, -shift)), shift));
  return static_cast<float>(v < 0 ? -q : q);
}

}  // namespace incq::inc_cpu

#endif
