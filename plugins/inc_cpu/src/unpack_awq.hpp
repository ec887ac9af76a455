// Reading one 4-bit code out of AWQ-packed int32 words (DESIGN §4).
#ifndef INCQ_INC_CPU_UNPACK_AWQ_HPP
#define INCQ_INC_CPU_UNPACK_AWQ_HPP

#include <cstdint>

namespace incq::inc_cpu {

// AWQ packs 8 consecutive columns of one row into a word, interleaved: nibble slot i (bits
// 4i..4i+3) holds column 8j + [0,2,4,6,1,3,5,7][i]. `row_words` is the row's first word; n is the
// column. Used for qweight rows [K, N/8] and qzeros rows [groups, N/8] alike.
inline uint32_t unpack_awq_code(const int32_t* row_words, int64_t n) {
  // Inverse of the slot->column order [0,2,4,6,1,3,5,7]: the slot that holds column c of a word.
  static constexpr int kSlotOfColumn[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  const uint32_t word = static_cast<uint32_t>(row_words[n / 8]);
  return (word >> (4 * kSlotOfColumn[n % 8])) & 0xFu;
}

}  // namespace incq::inc_cpu

#endif
