#include "fp8_decode.hpp"

#include <array>
#include <cmath>
#include <limits>

#include "incq/plugin_api.h"

namespace incq::inc_cpu {
namespace {

float with_sign(uint8_t code, float magnitude) { return (code & 0x80u) ? -magnitude : magnitude; }

template <float (*Decode)(uint8_t)>
std::array<float, 256> build_table() {
  std::array<float, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = Decode(static_cast<uint8_t>(c));
  return t;
}

}  // namespace

float decode_e4m3(uint8_t code) {
  const int e = (code >> 3) & 0xF;
  const int m = code & 0x7;
  if (e == 0xF && m == 0x7) return std::numeric_limits<float>::quiet_NaN();
  // normal: (1 + m/8) * 2^(e-7) = (8 + m) * 2^(e-10); subnormal: (m/8) * 2^-6 = m * 2^-9
  const float magnitude = e == 0 ? std::ldexp(static_cast<float>(m), -9)
                                 : std::ldexp(static_cast<float>(8 + m), e - 10);
  return with_sign(code, magnitude);
}

float decode_e5m2(uint8_t code) {
  const int e = (code >> 2) & 0x1F;
  const int m = code & 0x3;
  if (e == 0x1F) {
    return m == 0 ? with_sign(code, std::numeric_limits<float>::infinity())
                  : std::numeric_limits<float>::quiet_NaN();
  }
  // normal: (1 + m/4) * 2^(e-15) = (4 + m) * 2^(e-17); subnormal: (m/4) * 2^-14 = m * 2^-16
  const float magnitude = e == 0 ? std::ldexp(static_cast<float>(m), -16)
                                 : std::ldexp(static_cast<float>(4 + m), e - 17);
  return with_sign(code, magnitude);
}

const float* fp8_decode_table(int32_t dtype) {
  // Function-local statics: built once, thread-safe (C++11 magic statics).
  static const std::array<float, 256> e4m3 = build_table<decode_e4m3>();
  static const std::array<float, 256> e5m2 = build_table<decode_e5m2>();
  if (dtype == INCQ_DTYPE_F8_E4M3) return e4m3.data();
  if (dtype == INCQ_DTYPE_F8_E5M2) return e5m2.data();
  return nullptr;
}

}  // namespace incq::inc_cpu
