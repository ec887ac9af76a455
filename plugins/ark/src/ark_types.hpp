// ARK's integer type codes (BTLA_DTYPE), as its Python package passes them to the native ops
// (auto_round_kernel/__init__.py, class ARK_DT, auto-round-lib 0.16.0).
#ifndef INCQ_ARK_ARK_TYPES_HPP
#define INCQ_ARK_ARK_TYPES_HPP

#include <cstdint>

namespace incq::ark {

enum ArkDtype : int32_t {
  kArkUndef = 0,  // as a compute type: "auto" (int8 with dynamic activation quantization on Xeon)
  kArkF32 = 32,
  kArkF16 = 16,
  kArkBF16 = 65552,
  kArkInt2 = 258,
  kArkInt4 = 260,
  kArkInt8 = 264,
  kArkF8E4M3 = 8,
  kArkF8E5M2 = 65544,
};

inline int32_t ark_int_weight_type(int32_t bits) {
  return bits == 2 ? kArkInt2 : bits == 4 ? kArkInt4 : bits == 8 ? kArkInt8 : kArkUndef;
}

}  // namespace incq::ark

#endif
