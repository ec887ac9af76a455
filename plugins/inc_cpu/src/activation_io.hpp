// Reading activations (F32 / BF16 / F16) exactly and writing results rounded once.
#ifndef INCQ_INC_CPU_ACTIVATION_IO_HPP
#define INCQ_INC_CPU_ACTIVATION_IO_HPP

#include <cmath>
#include <cstdint>
#include <cstring>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

// Every F32/BF16/F16 value is exactly representable as a double.
inline double load_activation(const void* p, int32_t dtype) {
  uint16_t bits16;
  float f32;
  switch (dtype) {
    case INCQ_DTYPE_F32:
      std::memcpy(&f32, p, 4);
      return f32;
    case INCQ_DTYPE_BF16:
      std::memcpy(&bits16, p, 2);
      return bf16_to_float(bits16);
    default:  // INCQ_DTYPE_F16: callers validated the dtype
      std::memcpy(&bits16, p, 2);
      return half_to_float(bits16);
  }
}

// double -> float with round-to-odd: truncate, and set the last bit when anything was dropped.
// Rounding that result to nearest-even at 16 or fewer significand bits (BF16: 8, F16: 11) equals
// rounding the double directly, because fp32 keeps more than 2 extra bits (Boldo & Melquiond,
// "When double rounding is odd", 2005). It avoids the double-rounding error of double->float->half.
inline float double_to_float_round_odd(double v) {
  float f = static_cast<float>(v);
  if (!std::isfinite(v) || static_cast<double>(f) == v) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= 1u;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Rounds v once (to nearest even) into the output dtype.
inline void store_activation(void* p, int32_t dtype, double v) {
  uint16_t bits16;
  float f32;
  switch (dtype) {
    case INCQ_DTYPE_F32:
      f32 = static_cast<float>(v);
      std::memcpy(p, &f32, 4);
      break;
    case INCQ_DTYPE_BF16:
      bits16 = float_to_bf16(double_to_float_round_odd(v));
      std::memcpy(p, &bits16, 2);
      break;
    default:  // INCQ_DTYPE_F16
      bits16 = float_to_half(double_to_float_round_odd(v));
      std::memcpy(p, &bits16, 2);
      break;
  }
}

}  // namespace incq::inc_cpu

#endif
