// u8 code panels (int_panel.hpp (2)) and group parameters with AVX-512. The internal layout was
// made for this: a field of width b at bit b*p holds row 4*(p % (8/b)) + p/(8/b), so a strip's
// tile dwords shifted by b*s and masked per byte are the four codes of rows 4s..4s+3 of 16 columns,
// i.e. one 64-byte half of a panel row ([k/4][32 columns][4] u8) as it is. Lanes past the strip's
// width load as 0, so columns >= N come out as code 0 without a separate clear.
#include <immintrin.h>

#include <algorithm>

#include "int_fast/int_panel_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

__m512i bytes_field(__m512i v, int shift, __m512i mask) {
  return _mm512_and_si512(_mm512_srl_epi32(v, _mm_cvtsi32_si128(shift)), mask);
}

template <int B>
void strip_rows(const uint32_t* codes, int64_t width, __mmask16 lanes, int64_t t0, int64_t t1, int64_t r0,
                int64_t ld_dwords, uint32_t* out) {
  constexpr int64_t kTile = tile_rows(B);
  for (int64_t t = t0; t < t1; ++t) {
    uint32_t* dst = out + (t * kTile - r0) / 4 * ld_dwords;
    if constexpr (B == 8) {
      _mm512_storeu_si512(dst, _mm512_maskz_loadu_epi32(lanes, codes + t * width));
    } else if constexpr (B == 3) {
      // Low 2 bits: rows 0..15 in dword 0, 16..31 in dword 1 (2-bit layout); high bit of row
      // 4s + c at bit 8c + s of dword 2.
      const __m512i d0 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width);
      const __m512i d1 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width + width);
      const __m512i d2 = _mm512_maskz_loadu_epi32(lanes, codes + t * 3 * width + 2 * width);
      const __m512i m2 = _mm512_set1_epi32(0x03030303), m1 = _mm512_set1_epi32(0x01010101);
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) {
        const __m512i lo = bytes_field(s < 4 ? d0 : d1, 2 * (s % 4), m2);
        const __m512i hi = bytes_field(d2, s, m1);
        _mm512_storeu_si512(dst + s * ld_dwords, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 2)));
      }
    } else {
      const __m512i v = _mm512_maskz_loadu_epi32(lanes, codes + t * width);
      const __m512i mask = _mm512_set1_epi32(B == 4 ? 0x0F0F0F0F : 0x03030303);
#pragma GCC unroll 4
      for (int s = 0; s < 8 / B; ++s) _mm512_storeu_si512(dst + s * ld_dwords, bytes_field(v, B * s, mask));
    }
  }
}

}  // namespace

void produce_u8_rows_panel_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                                  uint8_t* panel) {
  uint32_t* out = reinterpret_cast<uint32_t*>(panel);  // [(r1 - r0) / 4][nb] dwords
  const int64_t t0 = r0 / w.k_tile, t1 = r1 / w.k_tile;
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) {
      for (int64_t q = 0; q < (r1 - r0) / 4; ++q) _mm512_storeu_si512(out + q * nb + jb, _mm512_setzero_si512());
      continue;
    }
    const int64_t width = w.strip_width(s);
    const __mmask16 lanes = static_cast<__mmask16>((1u << width) - 1u);
    const uint32_t* codes = w.strip_codes(s);
    switch (w.bits) {
      case 2: strip_rows<2>(codes, width, lanes, t0, t1, r0, nb, out + jb); break;
      case 3: strip_rows<3>(codes, width, lanes, t0, t1, r0, nb, out + jb); break;
      case 4: strip_rows<4>(codes, width, lanes, t0, t1, r0, nb, out + jb); break;
      default: strip_rows<8>(codes, width, lanes, t0, t1, r0, nb, out + jb); break;
    }
  }
}

void produce_group_params_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale,
                                 int32_t* zero) {
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) {
      _mm512_storeu_ps(scale + jb, _mm512_setzero_ps());
      _mm512_storeu_si512(zero + jb, _mm512_setzero_si512());
      continue;
    }
    const int64_t width = w.strip_width(s);
    const __mmask16 lanes = static_cast<__mmask16>((1u << width) - 1u);
    _mm512_storeu_ps(scale + jb, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, w.strip_scales(s) + g * width)));
    if (w.sym) {
      _mm512_storeu_si512(zero + jb, _mm512_maskz_set1_epi32(lanes, 1 << (w.bits - 1)));
    } else {
      for (int64_t j = 0; j < kStripWidth; ++j) zero[jb + j] = j < width ? w.zero_at(g, s * kStripWidth + j) : 0;
    }
  }
}

}  // namespace incq::inc_cpu::int_fast
