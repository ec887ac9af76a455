#include "unpack_awq.hpp"

namespace incq::inc_cpu {

uint32_t unpack_awq_code(const int32_t* row_words, int64_t n) {
  // Inverse of the slot->column order [0,2,4,6,1,3,5,7]: the slot that holds column c of a word.
  static constexpr int kSlotOfColumn[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  const uint32_t word = static_cast<uint32_t>(row_words[n / 8]);
  return (word >> (4 * kSlotOfColumn[n % 8])) & 0xFu;
}

}  // namespace incq::inc_cpu
