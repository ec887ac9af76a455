// bf16 weight panels (int_panel.hpp (1)) from the internal integer layout with AVX512-BF16: one zmm
// holds a tile's code dwords of a whole 16-column strip, so each row's 16 codes are a shift and a
// mask away, become fp32 with one fma, and two rows at a time are rounded and interleaved into the
// panel's (k, k+1) pairs. A tile never crosses a group (groups are padded to whole tiles), so the
// scale/zero factors change at most once per tile.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "int_fast/int_panel_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// w = s * float(q - z), exactly as the portable producer computes it (the product is exact in fp32:
// |q - z| <= 256 and an fp16 scale has 11 significant bits), so the panels are bit-identical,
// signed zeros included.
struct Factors {
  __m512 s;
  __m512i z;
};

Factors group_factors(const IntPackedMatrix& w, int64_t strip, int64_t width, __mmask16 lanes, int64_t g) {
  const __m512 s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, w.strip_scales(strip) + g * width));
  if (w.sym) return {s, _mm512_set1_epi32(1 << (w.bits - 1))};
  alignas(64) int32_t z[16] = {};
  for (int64_t j = 0; j < width; ++j) z[j] = w.zero_at(g, strip * kStripWidth + j);
  return {s, _mm512_load_si512(z)};
}

__m512 dequant(__m512i q, const Factors& f) { return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, f.z)), f.s); }

__m512i field(__m512i v, int shift, __m512i mask) {
  return _mm512_and_si512(_mm512_srl_epi32(v, _mm_cvtsi32_si128(shift)), mask);
}

// Rows r and r + 1 as the panel's pair dwords: bf16(r) in the low half, bf16(r + 1) in the high.
void store_pair(uint32_t* dst, __m512 lo, __m512 hi, __mmask16 lanes) {
  // cvtne2ps gives [16 x bf16(lo) | 16 x bf16(hi)]; interleave to (lo_j, hi_j) per dword j.
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
  _mm512_storeu_si512(dst, _mm512_maskz_mov_epi32(lanes, _mm512_permutexvar_epi16(idx, both)));
}

// Code of row i of a tile (2/4/8 bits: one dword per column; field p of width b holds row
// 4 * (p % (8 / b)) + p / (8 / b), int_packed_matrix.hpp).
int field_of_row(int b, int i) { return (i % 4) * (8 / b) + i / 4; }

template <int B>
void strip_tiles(const IntPackedMatrix& w, int64_t strip, int64_t width, __mmask16 lanes, int64_t t0, int64_t t1,
                 int64_t k0, int64_t ld_dwords, uint32_t* out) {
  constexpr int kTile = static_cast<int>(tile_rows(B));
  const uint32_t* codes = w.strip_codes(strip);
  const __m512i mask = _mm512_set1_epi32((1 << B) - 1);
  int64_t g = std::upper_bound(w.group_start.begin(), w.group_start.end(), static_cast<int32_t>(t0 * kTile)) -
              w.group_start.begin() - 1;
  Factors f = group_factors(w, strip, width, lanes, g);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t r0 = t * kTile;
    if (w.group_start[g + 1] <= r0) {
      while (w.group_start[g + 1] <= r0) ++g;
      f = group_factors(w, strip, width, lanes, g);
    }
    uint32_t* dst = out + (r0 - k0) / 2 * ld_dwords;
    if constexpr (B == 3) {
      const __m512i d0 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width);
      const __m512i d1 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width + width);
      const __m512i d2 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width + 2 * width);
      const __m512i m2 = _mm512_set1_epi32(3), m1 = _mm512_set1_epi32(1);
      auto row = [&](int i) {
        const int ii = i % 16;
        const __m512i lo = field(i < 16 ? d0 : d1, 2 * field_of_row(2, ii), m2);
        const __m512i hi = field(d2, 8 * (i % 4) + i / 4, m1);
        return dequant(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 2)), f);
      };
#pragma GCC unroll 16
      for (int i = 0; i < kTile; i += 2) store_pair(dst + i / 2 * ld_dwords, row(i), row(i + 1), lanes);
    } else {
      const __m512i v = _mm512_maskz_loadu_epi32(lanes, codes + t * width);
#pragma GCC unroll 16
      for (int i = 0; i < kTile; i += 2) {
        const __m512 lo = dequant(field(v, B * field_of_row(B, i), mask), f);
        const __m512 hi = dequant(field(v, B * field_of_row(B, i + 1), mask), f);
        store_pair(dst + i / 2 * ld_dwords, lo, hi, lanes);
      }
    }
  }
}

}  // namespace

void produce_bf16_panel_avx512bf16(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                                   uint16_t* panel) {
  const int64_t pairs = (kc + 1) / 2;
  const int64_t k_end = std::min(k0 + kc, w.K_int);
  uint32_t* out = reinterpret_cast<uint32_t*>(panel);  // [pairs][nb] dwords
  // Rows past K_int (the GEMM's K padding) are zero.
  const int64_t first_zero_pair = std::max<int64_t>(0, (k_end - k0 + 1) / 2);
  if (first_zero_pair < pairs)
    std::memset(out + first_zero_pair * nb, 0, static_cast<size_t>((pairs - first_zero_pair) * nb) * 4);
  if (k_end <= k0) return;
  const int64_t t0 = k0 / w.k_tile, t1 = k_end / w.k_tile;
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) {
      for (int64_t p = 0; p < first_zero_pair; ++p) std::memset(out + p * nb + jb, 0, kStripWidth * 4);
      continue;
    }
    const int64_t width = w.strip_width(s);
    const __mmask16 lanes = static_cast<__mmask16>((1u << width) - 1u);
    switch (w.bits) {
      case 2: strip_tiles<2>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      case 3: strip_tiles<3>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      case 4: strip_tiles<4>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      default: strip_tiles<8>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
    }
  }
}

}  // namespace incq::inc_cpu::int_fast
