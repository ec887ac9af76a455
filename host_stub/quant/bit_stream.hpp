// b-bit fields in a little-endian stream of 32-bit words: field i occupies stream bits
// [i*b, i*b + b), bit j of the stream being bit j%32 of word j/32. For b in {2, 4, 8} this is
// GPTQ's "element i at bits (i % (32/b))*b of word i/(32/b)"; for b = 3 it is GPTQ's 3-word
// stream in which field 10 spans words 0-1 and field 21 spans words 1-2 (DESIGN §4).
#pragma once

#include <cstdint>

namespace incq::host::quant {

// The stream's word w is words[w * stride]: a GPTQ qweight column is a stream strided by N.

// Reads field i of width bits (1..8).
inline uint32_t get_field(const uint32_t* words, int64_t stride, int64_t i, int bits) {
  const int64_t bit = i * bits;
  const int64_t w = bit / 32;
  const int shift = static_cast<int>(bit % 32);
  uint64_t pair = words[w * stride] >> shift;
  if (shift + bits > 32) pair |= static_cast<uint64_t>(words[(w + 1) * stride]) << (32 - shift);
  return static_cast<uint32_t>(pair) & ((1u << bits) - 1u);
}

// ORs value (< 2^bits) into field i; words must start zeroed.
inline void put_field(uint32_t* words, int64_t stride, int64_t i, int bits, uint32_t value) {
  const int64_t bit = i * bits;
  const int64_t w = bit / 32;
  const int shift = static_cast<int>(bit % 32);
  words[w * stride] |= value << shift;  // bits beyond 32 fall off here ...
  if (shift + bits > 32) words[(w + 1) * stride] |= value >> (32 - shift);  // ... and land in the next word
}

}  // namespace incq::host::quant
