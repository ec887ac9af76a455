#include "quant/float_formats.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"

namespace incq::host::quant {
namespace {

// OCP FP8 / MX specs and AutoRound's MXFP_FORMAT_CACHE agree on these (docs/formats.md §1).
constexpr double kE4M3Max = 448.0;
constexpr double kE5M2Max = 57344.0;
constexpr double kE2M1Max = 6.0;
constexpr double kE2M1Values[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};

// sign · 2^(E-bias) · (1 + M/2^mbits), or the subnormal 2^(1-bias) · M/2^mbits when E == 0.
double decode_minifloat(uint8_t code, int ebits, int mbits, int bias) {
  const int sign = (code >> (ebits + mbits)) & 1;
  const int e = (code >> mbits) & ((1 << ebits) - 1);
  const int m = code & ((1 << mbits) - 1);
  const double mag = e == 0 ? std::ldexp(static_cast<double>(m), 1 - bias - mbits)
                            : std::ldexp(static_cast<double>((1 << mbits) + m), e - bias - mbits);
  return sign ? -mag : mag;
}

// Bits of a value already on the grid (round_to_float_grid's output, |v| <= max finite).
uint8_t encode_on_grid(double v, int ebits, int mbits, int bias) {
  const uint8_t sign = std::signbit(v) ? static_cast<uint8_t>(1u << (ebits + mbits)) : 0;
  const double a = std::fabs(v);
  if (a == 0.0) return sign;
  const int e = floor_log2(a);
  if (e < 1 - bias) {  // subnormal: a = M · 2^(1-bias-mbits)
    const int m = static_cast<int>(std::ldexp(a, mbits - (1 - bias)));
    return static_cast<uint8_t>(sign | m);
  }
  const int m = static_cast<int>(std::ldexp(a, mbits - e)) - (1 << mbits);
  return static_cast<uint8_t>(sign | ((e + bias) << mbits) | m);
}

void reject_nan(double v, const char* format) {
  if (std::isnan(v)) throw Error(fmt::format("encode_{}: NaN has no {} encoding here", format, format));
}

}  // namespace

int floor_log2(double a) {
  int exp = 0;
  std::frexp(a, &exp);  // a = f · 2^exp, f in [0.5, 1)
  return exp - 1;
}

double round_to_float_grid(double v, int mant_bits, int emin, double max_value) {
  const double a = std::fabs(v);
  if (a == 0.0) return v;
  if (std::isinf(a)) return std::copysign(max_value, v);
  int e = floor_log2(a);
  if (e < emin) e = emin;
  const double step = std::ldexp(1.0, e - mant_bits);
  double r = std::nearbyint(a / step) * step;  // a/step is exact; nearbyint ties to even
  if (r > max_value) r = max_value;
  return std::copysign(r, v);
}

double decode_e4m3(uint8_t code) {
  if (is_nan_e4m3(code)) return std::nan("");
  return decode_minifloat(code, 4, 3, 7);
}

double decode_e5m2(uint8_t code) {
  if (((code >> 2) & 0x1F) == 0x1F) {
    if (code & 3) return std::nan("");
    return (code & 0x80) ? -INFINITY : INFINITY;
  }
  return decode_minifloat(code, 5, 2, 15);
}

double decode_e2m1(uint8_t nibble) {
  const double mag = kE2M1Values[nibble & 7];
  return (nibble & 8) ? -mag : mag;
}

double decode_e0m4(uint8_t nibble) {
  const double mag = (nibble & 7) * 0.25;
  return (nibble & 8) ? -mag : mag;
}

double decode_e8m0(uint8_t code) {
  if (code == 255) return std::nan("");
  return std::ldexp(1.0, static_cast<int>(code) - 127);
}

bool is_nan_e4m3(uint8_t code) { return (code & 0x7F) == 0x7F; }
bool is_nonfinite_e5m2(uint8_t code) { return ((code >> 2) & 0x1F) == 0x1F; }

uint8_t encode_e4m3(double v) {
  reject_nan(v, "e4m3");
  return encode_on_grid(round_to_float_grid(v, 3, -6, kE4M3Max), 4, 3, 7);
}

uint8_t encode_e5m2(double v) {
  reject_nan(v, "e5m2");
  return encode_on_grid(round_to_float_grid(v, 2, -14, kE5M2Max), 5, 2, 15);
}

uint8_t encode_e2m1(double v) {
  reject_nan(v, "e2m1");
  return encode_on_grid(round_to_float_grid(v, 1, 0, kE2M1Max), 2, 1, 1);
}

uint8_t encode_e0m4(double v) {
  const double m = std::fabs(v) * 4.0;
  if (!(m <= 7.0) || m != std::floor(m))
    throw Error(fmt::format("encode_e0m4: {} is not a multiple of 0.25 in [-1.75, 1.75]", v));
  return static_cast<uint8_t>((std::signbit(v) ? 8 : 0) | static_cast<int>(m));
}

}  // namespace incq::host::quant
