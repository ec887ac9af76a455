// Reading one code out of GPTQ-packed int32 words (DESIGN §4).
#ifndef INCQ_INC_CPU_UNPACK_GPTQ_HPP
#define INCQ_INC_CPU_UNPACK_GPTQ_HPP

#include <cstdint>

namespace incq::inc_cpu {

// GPTQ packs `bits`-wide codes into a run of int32 words as one little-endian bit stream: code i
// occupies stream bits [i*bits, (i+1)*bits), stream bit p being bit p%32 of word p/32. For 2, 4
// and 8 bits a code never straddles two words; for 3 bits, 32 codes fill 3 words and codes 10 and
// 21 straddle word boundaries. qweight runs go along K (consecutive words are one row apart, so
// word_stride = N); qzeros runs go along N (word_stride = 1).
// Inline: the reference calls it once per weight element.
inline uint32_t unpack_gptq_code(const int32_t* words, int64_t word_stride, int bits,
                                 int64_t index) {
  const int64_t bit = index * bits;
  const int64_t word = bit / 32;
  const int shift = static_cast<int>(bit % 32);
  const uint32_t mask = (1u << bits) - 1u;
  uint32_t value = static_cast<uint32_t>(words[word * word_stride]) >> shift;
  if (shift + bits > 32) {  // only 3-bit codes 10 and 21 of each 32 get here
    value |= static_cast<uint32_t>(words[(word + 1) * word_stride]) << (32 - shift);
  }
  return value & mask;
}

// Number of int32 words that hold `count` codes of `bits` bits (count*bits must be a multiple
// of 32; callers check that first).
inline int64_t gptq_packed_words(int64_t count, int bits) { return count * bits / 32; }

}  // namespace incq::inc_cpu

#endif
