// Header-only C++17 helpers for plugin authors. Nothing here crosses the ABI: these only make it
// easy to honour its rules (catch everything, fill incq_error, read tensors safely).
#ifndef INCQ_PLUGIN_HELPERS_HPP
#define INCQ_PLUGIN_HELPERS_HPP

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "incq/plugin_api.h"

namespace incq {

// An exception carrying an ABI status; thrown inside a plugin, turned into a status at the boundary.
class StatusError : public std::runtime_error {
 public:
  StatusError(incq_status code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  incq_status code() const { return code_; }

 private:
  incq_status code_;
};

[[noreturn]] inline void fail(incq_status code, const std::string& message) {
  throw StatusError(code, message);
}

// Fills err (if any) and returns code. Truncates the message to the fixed capacity. The caller owns
// err and sized it (struct_size); only fields that fit are written.
inline incq_status set_error(incq_error* err, incq_status code, const std::string& message) {
  if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = code;
  if (INCQ_HAS_FIELD(err, incq_error, message))
    std::snprintf(err->message, sizeof err->message, "%s", message.c_str());
  return code;
}

// Runs body (returning void) and converts every exception into a status: the ABI boundary.
template <typename Body>
incq_status guarded(incq_error* err, Body&& body) noexcept {
  try {
    body();
    if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = INCQ_OK;
    if (INCQ_HAS_FIELD(err, incq_error, message)) err->message[0] = '\0';
    return INCQ_OK;
  } catch (const StatusError& e) {
    return set_error(err, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(err, INCQ_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(err, INCQ_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return set_error(err, INCQ_ERR_INTERNAL, "internal error: unknown exception");
  }
}

inline size_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case INCQ_DTYPE_F64:
    case INCQ_DTYPE_I64:
    case INCQ_DTYPE_U64: return 8;
    case INCQ_DTYPE_F32:
    case INCQ_DTYPE_I32:
    case INCQ_DTYPE_U32: return 4;
    case INCQ_DTYPE_F16:
    case INCQ_DTYPE_BF16:
    case INCQ_DTYPE_I16:
    case INCQ_DTYPE_U16: return 2;
    case INCQ_DTYPE_I8:
    case INCQ_DTYPE_U8:
    case INCQ_DTYPE_F8_E4M3:
    case INCQ_DTYPE_F8_E5M2:
    case INCQ_DTYPE_BOOL: return 1;
    default: return 0;
  }
}

inline const char* dtype_name(int32_t dtype) {
  switch (dtype) {
    case INCQ_DTYPE_F32: return "F32";
    case INCQ_DTYPE_F16: return "F16";
    case INCQ_DTYPE_BF16: return "BF16";
    case INCQ_DTYPE_F64: return "F64";
    case INCQ_DTYPE_I8: return "I8";
    case INCQ_DTYPE_U8: return "U8";
    case INCQ_DTYPE_I16: return "I16";
    case INCQ_DTYPE_I32: return "I32";
    case INCQ_DTYPE_I64: return "I64";
    case INCQ_DTYPE_F8_E4M3: return "F8_E4M3";
    case INCQ_DTYPE_F8_E5M2: return "F8_E5M2";
    case INCQ_DTYPE_BOOL: return "BOOL";
    case INCQ_DTYPE_U16: return "U16";
    case INCQ_DTYPE_U32: return "U32";
    case INCQ_DTYPE_U64: return "U64";
    default: return "INVALID";
  }
}

inline bool is_contiguous(const incq_tensor& t) {
  int64_t expected = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (t.shape[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

inline int64_t numel(const incq_tensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

// IEEE binary16 -> float, exact.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3FFu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// float -> IEEE binary16, round to nearest even.
inline uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) {  // Inf or NaN
    return static_cast<uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
  }
  if (absx >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to Inf
  if (absx < 0x38800000u) {  // result is subnormal or zero: scale into integer range and round
    float a;
    std::memcpy(&a, &absx, sizeof a);
    const float scaled = a * 16777216.0f;  // 2^24: one unit = smallest half subnormal
    const uint32_t r = static_cast<uint32_t>(std::nearbyint(scaled));
    return static_cast<uint16_t>(sign | r);
  }
  const uint32_t mant_odd = (absx >> 13) & 1u;
  uint32_t rounded = absx + 0xFFFu + mant_odd;
  rounded -= (127u - 15u) << 23;
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float bf16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// float -> bfloat16, round to nearest even (NaN stays NaN).
inline uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  const uint32_t lsb = (x >> 16) & 1u;
  x += 0x7FFFu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace incq

#endif  // INCQ_PLUGIN_HELPERS_HPP
