// AutoRound's round-to-nearest quantizer (what `iters=0` produces with the plain int data types),
// used to build realistic test checkpoints and to check the oracle against hand-derived groups.
#pragma once

#include <cstdint>
#include <vector>

#include "quant/int_weights.hpp"

namespace incq::host::quant {

// Quantizes W[K][N] (row-major, x·W orientation) group-wise along K, one scale/zero per
// (group, column). g_idx (optional, [K]) assigns rows to groups as act-order checkpoints do;
// empty means k / group_size. bits 2..8; group_size -1 or positive (a G that does not divide K
// gives a last, shorter group). Throws incq::host::Error on bad arguments or non-finite weights.
//
// sym  (full range): scale = ±max(|min|, |max|) / 2^(b-1), sign chosen so the dominant extreme
//      maps to code -2^(b-1); q = clamp(round(w / scale), -2^(b-1), 2^(b-1)-1); zero = 2^(b-1).
// asym: scale = (max - min) / (2^b - 1); zero = round(-min / scale); q = clamp(round(w/scale)+zero).
// min and max always include 0; scales are rounded to fp16 before anything divides by them.
IntWeights quantize_rtn(const float* w_kn, int64_t K, int64_t N, int bits, int group_size, bool sym,
                        const std::vector<int32_t>& g_idx = {});

// GPTQ v1 stores zero-1, so an asymmetric zero of 0 cannot be written (pack_int refuses it). Moves
// every such group of q (quantized from w_kn by quantize_rtn) to zero 1, the nearest zero v1 can
// hold, keeping its scale: q = clamp(round(w / s) + 1, 0, 2^b - 1). Other groups are untouched.
void fit_gptq_v1_zero_range(IntWeights& q, const float* w_kn);

// torch.round semantics: nearest integer, ties to even. Exposed for tests.
double round_half_to_even(double v);

}  // namespace incq::host::quant
