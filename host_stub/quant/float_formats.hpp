// The small float encodings of the FP8 / MX / NV schemes (docs/formats.md §1): exact decoding to
// double, round-to-nearest-even encoding, and the rounding grids the quantizers share.
#pragma once

#include <cstdint>

namespace incq::host::quant {

// Exact decoders. e4m3 is the "fn" variant (no Inf; S.1111.111 is NaN, max ±448); e5m2 is
// IEEE-like (E=31: Inf when M=0, else NaN). The nibble decoders read bit 3 as the sign:
// E2M1 indexes {0, .5, 1, 1.5, 2, 3, 4, 6}; E0M4 (MXINT4's element) is magnitude/4 in {0..1.75}.
// E8M0 is 2^(s-127); 255 is NaN.
double decode_e4m3(uint8_t code);
double decode_e5m2(uint8_t code);
double decode_e2m1(uint8_t nibble);  // only the low 4 bits are read
double decode_e0m4(uint8_t nibble);  // only the low 4 bits are read
double decode_e8m0(uint8_t code);

bool is_nan_e4m3(uint8_t code);        // 0x7F, 0xFF
bool is_nonfinite_e5m2(uint8_t code);  // exponent field all ones

// Round to nearest, ties to even, saturating at the format's largest finite value (±448,
// ±57344, ±6; AutoRound clamps to that value before every cast, so saturation is what its
// checkpoints hold). The sign of zero is kept: -0.0, or a negative value rounding to zero, gives the
// negative-zero code (0x80 / 0x8), as torch's casts do. NaN throws incq::host::Error.
uint8_t encode_e4m3(double v);
uint8_t encode_e5m2(double v);
uint8_t encode_e2m1(double v);  // a nibble, 0..15
// Sign-magnitude E0M4 nibble of v, which must already be a multiple of 0.25 in [-1.75, 1.75].
uint8_t encode_e0m4(double v);

// The value nearest to v (ties to even) among ±m·2^(e-mant_bits), m integer, e = max(floor(log2|v|),
// emin), saturated to ±max_value: the grid of a float format with mant_bits fraction bits, minimum
// normal exponent emin (subnormals below it) and no Inf. Exact in double. The sign of zero is v's.
double round_to_float_grid(double v, int mant_bits, int emin, double max_value);

// floor(log2(a)) for finite a > 0, exact (frexp, not a rounded log2).
int floor_log2(double a);

}  // namespace incq::host::quant
