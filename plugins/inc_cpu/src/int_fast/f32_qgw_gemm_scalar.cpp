// Portable kernels: decode one code at a time. Slow, but exact in the same way as the vector
// kernels (fp32 products of exact values, fp32 accumulation per group), so they double as the
// baseline tier and as a readable statement of what the vector kernels compute.
#include <cstring>

#include "incq/plugin_helpers.hpp"
#include "int_fast/int_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// Code of internal row r (within its tile t) of strip column j (int_packed_matrix.hpp layout).
uint32_t code_at(const IntPackedMatrix& w, const uint32_t* strip, int64_t width, int64_t row, int64_t j) {
  const int b = w.bits;
  const int64_t t = row / w.k_tile, r = row % w.k_tile;
  const uint32_t* tile = strip + t * tile_dwords(b) * width;
  auto field_of_row = [](int bb, int64_t rr) {  // inverse of row = 4*(p % (8/b)) + p / (8/b)
    const int per_byte = 8 / bb;
    return static_cast<int>((rr % 4) * per_byte + rr / 4);
  };
  if (b == 3) {
    const uint32_t lo = r < 16 ? tile[j] : tile[width + j];
    const uint32_t lo2 = (lo >> (2 * field_of_row(2, r % 16))) & 3u;
    const uint32_t hi = (tile[2 * width + j] >> field_of_row(1, r)) & 1u;
    return lo2 | (hi << 2);
  }
  return (tile[j] >> (b * field_of_row(b, r))) & ((1u << b) - 1u);
}

}  // namespace

void f32_qgw_gemm_scalar(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                         int64_t s1, float* y, int64_t ldy) {
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t width = w.strip_width(s), n0 = s * kStripWidth;
    const uint32_t* strip = w.strip_codes(s);
    const uint16_t* scales = w.strip_scales(s);
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t j = 0; j < width; ++j) {
        float yv = 0.0f;
        for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
          const int64_t g = w.seg_group_of(sg);
          const int32_t z = w.zero_at(g, n0 + j);
          float acc = 0.0f;
          for (int64_t row = w.seg_begin(sg); row < w.seg_begin(sg + 1); ++row) {
            const int32_t q = static_cast<int32_t>(code_at(w, strip, width, row, j));
            acc += x[m * ldx + row] * static_cast<float>(q - z);
          }
          yv += half_to_float(scales[g * width + j]) * acc;
        }
        y[m * ldy + n0 + j] = yv;
      }
    }
  }
}

void qd8_f32_qgw_gemm_scalar(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq, const float* sx,
                             const int32_t* xsum, int64_t M, int64_t s0, int64_t s1, float* y, int64_t ldy) {
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t width = w.strip_width(s), n0 = s * kStripWidth;
    const uint32_t* strip = w.strip_codes(s);
    const uint16_t* scales = w.strip_scales(s);
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t j = 0; j < width; ++j) {
        float yv = 0.0f;
        for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
          const int64_t g = w.seg_group_of(sg);
          int32_t acc = 0;
          for (int64_t row = w.seg_begin(sg); row < w.seg_begin(sg + 1); ++row) {
            acc += xq[m * ldq + row] * static_cast<int32_t>(code_at(w, strip, width, row, j));
          }
          acc -= w.zero_at(g, n0 + j) * xsum[m * w.num_segments() + sg];
          yv += sx[m] * half_to_float(scales[g * width + j]) * static_cast<float>(acc);
        }
        y[m * ldy + n0 + j] = yv;
      }
    }
  }
}

}  // namespace incq::inc_cpu::int_fast
