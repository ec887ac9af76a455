// Shared decoding steps of the AVX-512 panel producers (int_panel_bf16_avx512bf16.cpp,
// int_panel_f32_avx512.cpp): one zmm holds a tile's code dwords of a whole 16-column strip, so each
// row's 16 codes are a shift and a mask away, and w = s * float(q - z) is exact in fp32 (|q - z|
// <= 256, an fp16 scale has 11 significant bits) and equal to the portable producer's value, signed
// zeros included. A tile never crosses a group (groups are padded to whole tiles), so the factors
// change at most once per tile. Include only from AVX-512 files; everything here has internal
// linkage, so files built with different ISA flags never share a copy.
#ifndef INCQ_INC_CPU_INT_FAST_INT_PANEL_DECODE_AVX512_HPP
#define INCQ_INC_CPU_INT_FAST_INT_PANEL_DECODE_AVX512_HPP

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "int_fast/int_packed_matrix.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

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

// The group factors of the tile starting at internal row r0, for tiles visited in increasing order.
struct GroupCursor {
  const IntPackedMatrix& w;
  int64_t strip, width;
  __mmask16 lanes;
  int64_t g;
  Factors f;
  GroupCursor(const IntPackedMatrix& w_, int64_t strip_, int64_t width_, __mmask16 lanes_, int64_t r0)
      : w(w_), strip(strip_), width(width_), lanes(lanes_),
        g(std::upper_bound(w_.group_start.begin(), w_.group_start.end(), static_cast<int32_t>(r0)) -
          w_.group_start.begin() - 1),
        f(group_factors(w_, strip_, width_, lanes_, g)) {}
  const Factors& at(int64_t r0) {
    if (w.group_start[g + 1] <= r0) {
      while (w.group_start[g + 1] <= r0) ++g;
      f = group_factors(w, strip, width, lanes, g);
    }
    return f;
  }
};

inline __m512 dequant(__m512i q, const Factors& f) {
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, f.z)), f.s);
}

inline __m512i field(__m512i v, int shift, __m512i mask) {
  return _mm512_and_si512(_mm512_srl_epi32(v, _mm_cvtsi32_si128(shift)), mask);
}

// Field holding row i of a tile (2/4/8 bits: field p of width b holds row 4*(p % (8/b)) + p/(8/b)).
constexpr int field_of_row(int b, int i) { return (i % 4) * (8 / b) + i / 4; }

// A tile's code dwords of one strip (lanes past the strip's width read as 0).
template <int B>
struct TileCodes {
  __m512i d[B == 3 ? 3 : 1];
  TileCodes(const uint32_t* strip_codes, int64_t t, int64_t width, __mmask16 lanes) {
    const int64_t n = B == 3 ? 3 : 1;
    for (int64_t i = 0; i < n; ++i) d[i] = _mm512_maskz_loadu_epi32(lanes, strip_codes + (t * n + i) * width);
  }
  // The 16 codes of row i (0 <= i < tile_rows(B)) as int32 lanes.
  __m512i row(int i) const {
    if constexpr (B == 3) {
      // Low 2 bits: rows 0..15 in dword 0, 16..31 in dword 1 (2-bit layout); high bit of row i
      // at bit 8 * (i % 4) + i / 4 of dword 2.
      const __m512i lo = field(i < 16 ? d[0] : d[1], 2 * field_of_row(2, i % 16), _mm512_set1_epi32(3));
      const __m512i hi = field(d[2], 8 * (i % 4) + i / 4, _mm512_set1_epi32(1));
      return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 2));
    } else {
      return field(d[0], B * field_of_row(B, i), _mm512_set1_epi32((1 << B) - 1));
    }
  }
};

}  // namespace
}  // namespace incq::inc_cpu::int_fast

#endif
