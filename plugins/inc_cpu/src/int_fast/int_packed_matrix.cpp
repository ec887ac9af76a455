#include "int_fast/int_packed_matrix.hpp"

#include <cstring>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu::int_fast {

int32_t IntPackedMatrix::zero_at(int64_t g, int64_t n) const {
  if (sym) return 1 << (bits - 1);
  const int64_t s = n / kStripWidth;
  const size_t i = static_cast<size_t>(s * kStripWidth * num_groups + g * strip_width(s) + n % kStripWidth);
  if (bits == 8) return zeros[i] + zero_offset;
  return ((zeros[i / 2] >> (4 * (i % 2))) & 0xF) + zero_offset;
}

float IntPackedMatrix::bias_at(int64_t n) const {
  uint16_t h;
  float f;
  switch (bias_dtype) {
    case INCQ_DTYPE_F32:
      std::memcpy(&f, bias.data() + 4 * n, 4);
      return f;
    case INCQ_DTYPE_F16:
      std::memcpy(&h, bias.data() + 2 * n, 2);
      return half_to_float(h);
    case INCQ_DTYPE_BF16:
      std::memcpy(&h, bias.data() + 2 * n, 2);
      return bf16_to_float(h);
    default:
      return 0.0f;
  }
}

uint64_t IntPackedMatrix::resident_bytes() const {
  return codes.size() * sizeof(uint32_t) + scales.size() * sizeof(uint16_t) + zeros.size() +
         bias.size() + (group_start.size() + seg_start.size() + seg_group.size()) * sizeof(int32_t) + k_source.size() * sizeof(int32_t);
}

void gather_x_internal(const IntPackedMatrix& w, const float* x, float* x_int) {
  if (w.k_source.empty()) {
    std::memcpy(x_int, x, static_cast<size_t>(w.K) * sizeof(float));
    for (int64_t i = w.K; i < w.K_int; ++i) x_int[i] = 0.0f;
    return;
  }
  for (int64_t i = 0; i < w.K_int; ++i) {
    const int32_t k = w.k_source[static_cast<size_t>(i)];
    x_int[i] = k < 0 ? 0.0f : x[k];
  }
}

}  // namespace incq::inc_cpu::int_fast
