#include "int_device_matrix.hpp"

namespace incq::inc_xpu {
namespace {

// Writes `code` (bits wide) at bit position `bit` of a little-endian word stream.
void put_bits(uint32_t* words, int64_t bit, uint32_t code, int32_t bits) {
  const int64_t w = bit >> 5;
  const int sh = static_cast<int>(bit & 31);
  words[w] |= code << sh;
  if (sh + bits > 32) words[w + 1] |= code >> (32 - sh);
}

}  // namespace

uint64_t IntDeviceImage::bytes() const {
  return (qweight.size() + zeros.size()) * 4 + scales.size() * 2 + g_idx.size() * 4 + bias.size();
}

IntDeviceImage make_int_device_image(const inc_cpu::IntWoMatrix& m) {
  IntDeviceImage d;
  d.bits = m.format.bits;
  d.K = m.K;
  d.N = m.N;
  d.group_size = static_cast<int32_t>(m.group_size);
  d.scales = m.scales;
  d.g_idx = m.g_idx;
  d.bias_dtype = m.bias_dtype;
  d.bias = m.bias;
  const int64_t rows = (m.K * m.format.bits + 31) / 32;
  const int64_t zrow = (m.N * m.format.bits + 31) / 32;
  if (m.format.packing == INCQ_PACKING_AWQ) {
    // AWQ interleaves columns inside each word: decode every code and write it in GPTQ order.
    d.qweight.assign(static_cast<size_t>(rows * m.N), 0u);
    for (int64_t k = 0; k < m.K; ++k) {
      const int64_t block = k / 32, i = k % 32;
      for (int64_t n = 0; n < m.N; ++n) {
        const int64_t bit = i * m.format.bits;
        uint32_t* col = nullptr;
        // Column n's stream of block `block` lives in word rows block*bits.., one word per row.
        uint32_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int w = 0; w < m.format.bits; ++w) {
          const int64_t r = block * m.format.bits + w;
          if (r < rows) tmp[w] = d.qweight[static_cast<size_t>(r * m.N + n)];
        }
        put_bits(tmp, bit, static_cast<uint32_t>(m.code_at(k, n)), m.format.bits);
        for (int w = 0; w < m.format.bits; ++w) {
          const int64_t r = block * m.format.bits + w;
          if (r < rows) d.qweight[static_cast<size_t>(r * m.N + n)] = tmp[w];
        }
        (void)col;
      }
    }
    d.zeros.assign(static_cast<size_t>(m.num_groups * zrow), 0u);
    for (int64_t g = 0; g < m.num_groups; ++g)
      for (int64_t n = 0; n < m.N; ++n)
        put_bits(d.zeros.data() + g * zrow, n * m.format.bits, static_cast<uint32_t>(m.zero_at(g, n)), m.format.bits);
    d.zero_add = 0;
  } else {
    // GPTQ v1/v2: the device layout is the checkpoint layout.
    d.qweight.assign(m.qweight.begin(), m.qweight.end());
    d.zeros.assign(m.qzeros.begin(), m.qzeros.end());
    d.zero_add = m.format.packing == INCQ_PACKING_GPTQ_V1 ? 1 : 0;
  }
  return d;
}

}  // namespace incq::inc_xpu
