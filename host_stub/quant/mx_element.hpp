// The MX block rule shared by MX weights and MX activations (docs/formats.md §3, §4): one E8M0
// exponent per block from the block's largest magnitude, elements rounded to a small grid.
// AutoRound 0.16.1 auto_round/data_type/mxfp.py (quant_mx, quant_element, MXFP_FORMAT_CACHE).
#pragma once

#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::host::quant {

struct MxElement {
  bool is_int = false;  // MX_INT: a fixed-point grid; MX_FP: a minifloat grid
  int bits = 4;
  int mant_bits = 1;     // MX_FP: fraction bits; MX_INT: bits - 2 (grid step 2^-(bits-2))
  int emin = 0;          // MX_FP: smallest normal exponent
  int emax = 2;          // exponent of the largest element binade, subtracted from floor(log2 amax)
  double max_norm = 6.0; // largest element magnitude (saturation)
};

// The element of MX_FP 4 (E2M1) / 8 (e4m3) or MX_INT 2 / 4 / 8. Throws incq::host::Error otherwise,
// naming `what` (e.g. the layer and "activations").
MxElement mx_element(int32_t family, int bits, const char* what);

// The shared exponent E of a block whose largest magnitude is amax (finite, >= 0):
// floor(log2 amax) - emax, clamped to [-127, 127]; amax == 0 gives 1 - emax (AutoRound replaces
// log2(0) by 1). The E8M0 byte is E + 127.
int mx_shared_exponent(double amax, const MxElement& e);

// The element nearest t = x / 2^E (ties to even) after clamping t to ±max_norm. Sign of zero kept.
double mx_round_element(double t, const MxElement& e);

}  // namespace incq::host::quant
