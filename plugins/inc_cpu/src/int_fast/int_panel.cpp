// Panel producers (int_panel.hpp): the AVX-512 ones (int_panel_kernels.hpp) where the CPU and the
// arguments allow, else the portable ones here, which decode a strip's tile column once and then
// scatter its rows into the panel (and are the AVX-512 ones' reference in the tests).
#include "int_fast/int_panel.hpp"

#include <algorithm>
#include <cstring>

#include "incq/plugin_helpers.hpp"
#include "int_fast/int_panel_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// The k_tile codes of column j of tile t of a strip, in row order.
void decode_tile_column(const IntPackedMatrix& w, const uint32_t* strip, int64_t width, int64_t t, int64_t j,
                        uint8_t* q) {
  const int b = w.bits;
  const uint32_t* tile = strip + t * tile_dwords(b) * width;
  auto put_fields = [&](uint32_t word, int bb, int64_t row0, bool high_bit) {
    const int per_byte = 8 / bb;
    for (int p = 0; p < 32 / bb; ++p) {
      const uint32_t v = (word >> (bb * p)) & ((1u << bb) - 1u);
      const int64_t row = row0 + 4 * (p % per_byte) + p / per_byte;
      q[row] = static_cast<uint8_t>(high_bit ? (q[row] | (v << 2)) : v);
    }
  };
  if (b == 3) {
    put_fields(tile[j], 2, 0, false);
    put_fields(tile[width + j], 2, 16, false);
    put_fields(tile[2 * width + j], 1, 0, true);
  } else {
    put_fields(tile[j], b, 0, false);
  }
}

int64_t group_of_row(const IntPackedMatrix& w, int64_t row) {
  return std::upper_bound(w.group_start.begin(), w.group_start.end(), static_cast<int32_t>(row)) -
         w.group_start.begin() - 1;
}

bool cpu_has_avx512() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return ok;
}

bool cpu_has_avx512bf16() {
  static const bool ok = cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return ok;
}

bool whole_strips(int64_t n0, int64_t nb) { return n0 % kStripWidth == 0 && nb % kStripWidth == 0; }

}  // namespace

void produce_bf16_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, uint16_t* panel) {
  const bool whole_tiles = k0 >= 0 && kc >= 0 && k0 % w.k_tile == 0 &&
                           (kc % w.k_tile == 0 || k0 + kc >= w.K_int);
  if (cpu_has_avx512bf16() && whole_strips(n0, nb) && whole_tiles) {
    produce_bf16_panel_avx512bf16(w, n0, nb, k0, kc, panel);
  } else {
    produce_bf16_panel_scalar(w, n0, nb, k0, kc, panel);
  }
}

void produce_bf16_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, uint16_t* panel) {
  const int64_t pairs = (kc + 1) / 2;
  std::memset(panel, 0, static_cast<size_t>(pairs * nb * 2) * sizeof(uint16_t));
  const int64_t k_end = std::min(k0 + kc, w.K_int);
  uint8_t q[32];
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) break;
    const int64_t width = w.strip_width(s);
    const uint32_t* strip = w.strip_codes(s);
    const uint16_t* scales = w.strip_scales(s);
    for (int64_t t = k0 / w.k_tile; t * w.k_tile < k_end; ++t) {
      const int64_t r0 = t * w.k_tile;
      int64_t g = group_of_row(w, std::max(r0, k0));
      for (int64_t j = 0; j < width; ++j) {
        decode_tile_column(w, strip, width, t, j, q);
        int64_t gg = g;
        for (int64_t r = std::max(r0, k0); r < std::min(r0 + w.k_tile, k_end); ++r) {
          while (w.group_start[gg + 1] <= r) ++gg;
          const float v = half_to_float(scales[gg * width + j]) *
                          static_cast<float>(static_cast<int32_t>(q[r - r0]) - w.zero_at(gg, s * kStripWidth + j));
          const int64_t kk = r - k0;
          panel[(kk / 2) * nb * 2 + (jb + j) * 2 + kk % 2] = float_to_bf16(v);
        }
      }
    }
  }
}

void produce_f32_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, float* panel) {
  const bool whole_tiles = k0 >= 0 && kc >= 0 && k0 % w.k_tile == 0 &&
                           (kc % w.k_tile == 0 || k0 + kc >= w.K_int);
  if (cpu_has_avx512() && whole_strips(n0, nb) && whole_tiles) {
    produce_f32_panel_avx512(w, n0, nb, k0, kc, panel);
  } else {
    produce_f32_panel_scalar(w, n0, nb, k0, kc, panel);
  }
}

void produce_f32_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, float* panel) {
  std::memset(panel, 0, static_cast<size_t>(kc * nb) * sizeof(float));
  const int64_t k_end = std::min(k0 + kc, w.K_int);
  uint8_t q[32];
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) break;
    const int64_t width = w.strip_width(s);
    const uint32_t* strip = w.strip_codes(s);
    const uint16_t* scales = w.strip_scales(s);
    for (int64_t t = k0 / w.k_tile; t * w.k_tile < k_end; ++t) {
      const int64_t r0 = t * w.k_tile;
      for (int64_t j = 0; j < width; ++j) {
        decode_tile_column(w, strip, width, t, j, q);
        int64_t g = group_of_row(w, std::max(r0, k0));
        for (int64_t r = std::max(r0, k0); r < std::min(r0 + w.k_tile, k_end); ++r) {
          while (w.group_start[g + 1] <= r) ++g;
          panel[(r - k0) * nb + jb + j] = half_to_float(scales[g * width + j]) *
              static_cast<float>(static_cast<int32_t>(q[r - r0]) - w.zero_at(g, s * kStripWidth + j));
        }
      }
    }
  }
}

void produce_u8_group_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, uint8_t* panel) {
  produce_u8_rows_panel(w, n0, nb, w.group_start[g], w.group_start[g + 1], panel);
}

void produce_u8_rows_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                           uint8_t* panel) {
  if (cpu_has_avx512() && whole_strips(n0, nb) && r0 % w.k_tile == 0 && r1 % w.k_tile == 0) {
    produce_u8_rows_panel_avx512(w, n0, nb, r0, r1, panel);
  } else {
    produce_u8_rows_panel_scalar(w, n0, nb, r0, r1, panel);
  }
}

void produce_u8_rows_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                                  uint8_t* panel) {
  std::memset(panel, 0, static_cast<size_t>((r1 - r0) * nb));
  uint8_t q[32];
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) break;
    const int64_t width = w.strip_width(s);
    const uint32_t* strip = w.strip_codes(s);
    for (int64_t t = r0 / w.k_tile; t * w.k_tile < r1; ++t) {
      for (int64_t j = 0; j < width; ++j) {
        decode_tile_column(w, strip, width, t, j, q);
        for (int64_t i = 0; i < w.k_tile; ++i) {
          const int64_t kk = t * w.k_tile + i - r0;
          panel[(kk / 4) * nb * 4 + (jb + j) * 4 + kk % 4] = q[i];
        }
      }
    }
  }
}

void produce_group_params(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale, int32_t* zero) {
  if (cpu_has_avx512() && whole_strips(n0, nb)) {
    produce_group_params_avx512(w, n0, nb, g, scale, zero);
  } else {
    produce_group_params_scalar(w, n0, nb, g, scale, zero);
  }
}

void produce_group_params_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale,
                                 int32_t* zero) {
  for (int64_t j = 0; j < nb; ++j) {
    const int64_t n = n0 + j;
    if (n >= w.N) {
      scale[j] = 0.0f;
      zero[j] = 0;
      continue;
    }
    const int64_t s = n / kStripWidth;
    scale[j] = half_to_float(w.strip_scales(s)[g * w.strip_width(s) + n % kStripWidth]);
    zero[j] = w.zero_at(g, n);
  }
}

}  // namespace incq::inc_cpu::int_fast
