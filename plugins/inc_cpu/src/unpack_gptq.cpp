#include "unpack_gptq.hpp"

namespace incq::inc_cpu {

uint32_t unpack_gptq_code(const int32_t* words, int64_t word_stride, int bits, int64_t index) {
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

int64_t gptq_packed_words(int64_t count, int bits) { return count * bits / 32; }

}  // namespace incq::inc_cpu
