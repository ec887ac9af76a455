// A small float vector kept in the dtype the checkpoint stored it in (F32, BF16 or F16), decoded
// per element when read. Every such value is exact in float, so decoding on use gives the same
// numbers as widening at load, while resident memory stays equal to the checkpoint's bytes (a
// widened BF16 scale grid costs 2x its bytes, which pushed per-group FP8 layers past `incq
// verify`'s 1.05x resident bound).
#ifndef INCQ_INC_CPU_STORED_FLOATS_HPP
#define INCQ_INC_CPU_STORED_FLOATS_HPP

#include <cstdint>
#include <cstring>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

class StoredFloats {
 public:
  StoredFloats() = default;
  // Copies `count` elements of dtype (F32, BF16 or F16; the caller has validated it) from data.
  StoredFloats(int32_t dtype, const void* data, size_t count)
      : dtype_(dtype), bytes_(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + count * width(dtype)) {}

  size_t size() const { return dtype_ == 0 ? 0 : bytes_.size() / width(dtype_); }
  bool empty() const { return bytes_.empty(); }
  uint64_t bytes() const { return bytes_.size(); }

  float operator[](size_t i) const {
    if (dtype_ == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, bytes_.data() + 4 * i, 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, bytes_.data() + 2 * i, 2);
    return dtype_ == INCQ_DTYPE_BF16 ? bf16_to_float(h) : half_to_float(h);
  }

 private:
  static size_t width(int32_t dtype) { return dtype == INCQ_DTYPE_F32 ? 4 : 2; }

  int32_t dtype_ = 0;
  std::vector<uint8_t> bytes_;
};

}  // namespace incq::inc_cpu

#endif
