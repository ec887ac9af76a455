// The tensor shapes and field rules of the integer checkpoint packings (DESIGN §4), shared by the
// packer and the oracle's reader so both agree on one statement of the format.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "incq/plugin_api.h"

namespace incq::host::quant {

// AWQ nibble slot i of a word holds column 8j + kAwqOrder[i] (DESIGN §4).
inline constexpr std::array<int, 8> kAwqOrder = {0, 2, 4, 6, 1, 3, 5, 7};

struct PackedShapes {
  std::array<int64_t, 2> qweight, qzeros, scales;
  int64_t g_idx;  // [K]
};

// "GPTQ_V1", "GPTQ_V2", "AWQ", or the number for anything else.
std::string packing_name(incq_packing packing);

// Empty when (K, N, bits, group_size, packing) can be stored; else why not, e.g.
// "GPTQ needs K*bits % 32 == 0 (K=48, bits=3)". Only GPTQ_V1, GPTQ_V2 and AWQ are integer packings.
std::string packing_limits_violation(int64_t K, int64_t N, int bits, int group_size, incq_packing packing);

// ceil(K / G), G = K when group_size is -1.
int64_t group_count(int64_t K, int group_size);

// Shapes of qweight / qzeros / scales / g_idx. Requires packing_limits_violation(...) to be empty.
PackedShapes packed_shapes(int64_t K, int64_t N, int bits, int group_size, incq_packing packing);

// The range of real zero points a packing can hold: GPTQ v1 stores zero-1 in a b-bit field, so it
// holds [1, 2^b] (a zero of 0 cannot be written; the 0x..F.. it would need reads back as 2^b);
// GPTQ v2 and AWQ store the zero itself: [0, 2^b - 1].
std::array<int32_t, 2> zero_range(int bits, incq_packing packing);

// What the qzeros field holds for a real zero, and back (v1: zero - 1; others: the zero).
int32_t zero_offset(incq_packing packing);

}  // namespace incq::host::quant
