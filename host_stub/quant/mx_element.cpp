#include "quant/mx_element.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/float_formats.hpp"

namespace incq::host::quant {

MxElement mx_element(int32_t family, int bits, const char* what) {
  MxElement e;
  e.bits = bits;
  // (ebits, mbits, emax, max_norm) of MXFP_FORMAT_CACHE: mx_fp4 (2, 3, 2, 6.0), mx_fp8 (4, 5, 8, 448.0),
  // mx_int{b} (0, b, 0, (2^(b-1)-1)/2^(b-2)); AutoRound's mbits counts sign and implicit bit, so the
  // fraction has mbits - 2 bits and its smallest normal exponent is 2 - 2^(ebits-1).
  if (family == INCQ_FAMILY_MX_FP && bits == 4) {
    e.mant_bits = 1, e.emin = 0, e.emax = 2, e.max_norm = 6.0;
  } else if (family == INCQ_FAMILY_MX_FP && bits == 8) {
    e.mant_bits = 3, e.emin = -6, e.emax = 8, e.max_norm = 448.0;
  } else if (family == INCQ_FAMILY_MX_INT && (bits == 2 || bits == 4 || bits == 8)) {
    e.is_int = true;
    e.mant_bits = bits - 2;
    e.emin = 0, e.emax = 0;
    e.max_norm = std::ldexp((1 << (bits - 1)) - 1, -(bits - 2));
  } else {
    throw Error(fmt::format("{}: MX {} with {} bits is not supported (MX_FP 4/8, MX_INT 2/4/8)", what,
                            family == INCQ_FAMILY_MX_INT ? "int" : "fp", bits));
  }
  return e;
}

int mx_shared_exponent(double amax, const MxElement& e) {
  const int floor_log = amax == 0.0 ? 1 : floor_log2(amax);
  return std::clamp(floor_log - e.emax, -127, 127);
}

double mx_round_element(double t, const MxElement& e) {
  const double c = std::clamp(t, -e.max_norm, e.max_norm);
  if (!e.is_int) return round_to_float_grid(c, e.mant_bits, e.emin, e.max_norm);
  const double r = std::nearbyint(std::ldexp(c, e.mant_bits));  // ties to even
  return std::copysign(std::min(std::ldexp(std::fabs(r), -e.mant_bits), e.max_norm), c);
}

}  // namespace incq::host::quant
