// fp32-activation GEMM/GEMV over the internal integer layout, AVX-512 (F/BW/VL/DQ).
// Tile: 2 strips (32 columns) x R <= 4 rows; for each group the codes of the strip pair (a few KiB)
// stay in L1 while every row block reuses them. Per field the code vector is decoded exactly to
// float(q - z) — by a 16-entry vpermps table for 2/3/4-bit codes (vpermps reads only the low 4
// bits of each index lane, so the shift leaves the neighbouring fields in place for free), by a
// sign-extending shift pair for 8-bit — and FMA'd with the broadcast activation; each group's sum
// is scaled once into y. Two accumulator sets (even/odd fields) keep FMA latency off the M = 1 path.
#include <immintrin.h>

// GCC 12 flags the deliberately undefined pass-through operand inside its own AVX-512 intrinsic
// headers (masked loads, cvtph) as maybe-uninitialized; the values are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>

#include "int_fast/int_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

constexpr int kRows = 4;

// Row of the tile held by field f (int_packed_matrix.hpp).
template <int B>
constexpr int row_of_field(int f) {
  if constexpr (B == 3) {
    // Nibble k of combined dword j (combine3 below) holds 2-bit field p = 2k + j % 2 of the rows
    // 16 * (j / 2) ...: row 16 * (j / 2) + 4 * (p % 4) + p / 4.
    const int j = f / 8, p = 2 * (f % 8) + j % 2;
    return 16 * (j / 2) + 4 * (p % 4) + p / 4;
  } else {
    constexpr int per_byte = 8 / B;
    return 4 * (f % per_byte) + f / per_byte;
  }
}

template <int B, bool SYM>
struct Decode {
  __m512 lut;
  __m512i bias8;  // 8-bit sym: flips the top bit of every byte so that bytes read as q - 128
  Decode() {
    alignas(64) float t[16];
    const int mask = B == 3 ? 7 : (1 << B) - 1;
    for (int i = 0; i < 16; ++i) t[i] = static_cast<float>((i & mask) - (SYM ? (1 << (B - 1)) : 0));
    lut = _mm512_load_ps(t);
    bias8 = _mm512_set1_epi32(static_cast<int>(0x80808080u));
  }
  // Field f of the tile whose dwords are d[0..tile_dwords).
  template <int F>
  __m512 field(const __m512i* d) const {
    if constexpr (B == 8) {
      if constexpr (SYM) {
        const __m512i v = _mm512_xor_si512(d[0], bias8);
        return _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * F), 24));
      } else {
        return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(d[0], 8 * F), _mm512_set1_epi32(0xFF)));
      }
    } else if constexpr (B == 3) {
      // d holds the four combined dwords (combine3): field F is nibble F % 8 of dword F / 8.
      constexpr int j = F / 8, k = F % 8;
      return _mm512_permutexvar_ps(k == 0 ? d[j] : _mm512_srli_epi32(d[j], 4 * k), lut);
    } else {
      return _mm512_permutexvar_ps(F == 0 ? d[0] : _mm512_srli_epi32(d[0], B * F), lut);
    }
  }
};

// 3-bit tiles: rebuilds the tile's 32 codes as 4 dwords of 8 nibbles, each nibble's bits 0-1 the
// low bits of one 2-bit field and bit 2 its high bit (bit 3 is left over; the table ignores it).
// c[0] / c[1]: the even / odd 2-bit fields of d[0] (rows 0-15), c[2] / c[3] those of d[1] (rows
// 16-31). Field p of d[h] has its high bit at d[2] bit 8 * (p / 4) + 4h + p % 4 (the layout's
// "bits 3" rule), so for nibble k (bits 4k..) it moves by one of two fixed shifts depending on k's
// parity. 17 instructions per tile and strip, against three per field (96) when every field
// gathers its own high bit: 3-bit decode was the slowest per byte.
inline void combine3(__m512i* d) {
  const __m512i lo2 = _mm512_set1_epi32(0x33333333), even = _mm512_set1_epi32(0x04040404);
  const __m512i d0 = d[0], d1 = d[1], h = d[2];
  // imm 0xE4: c ? a : b
  const __m512i e0 = _mm512_ternarylogic_epi32(_mm512_slli_epi32(h, 2), _mm512_slli_epi32(h, 4), even, 0xE4);
  const __m512i o0 = _mm512_ternarylogic_epi32(_mm512_slli_epi32(h, 1), _mm512_slli_epi32(h, 3), even, 0xE4);
  const __m512i e1 = _mm512_ternarylogic_epi32(_mm512_srli_epi32(h, 2), h, even, 0xE4);
  const __m512i o1 = _mm512_ternarylogic_epi32(_mm512_srli_epi32(h, 3), _mm512_srli_epi32(h, 1), even, 0xE4);
  d[0] = _mm512_ternarylogic_epi32(d0, e0, lo2, 0xE4);
  d[1] = _mm512_ternarylogic_epi32(_mm512_srli_epi32(d0, 2), o0, lo2, 0xE4);
  d[2] = _mm512_ternarylogic_epi32(d1, e1, lo2, 0xE4);
  d[3] = _mm512_ternarylogic_epi32(_mm512_srli_epi32(d1, 2), o1, lo2, 0xE4);
}

struct StripPair {
  int n = 0;                    // 1 or 2 strips
  const uint32_t* codes[2]{};
  int64_t tile_stride[2]{};     // dwords per tile
  __mmask16 mask[2]{};
  int64_t col[2]{};             // first column
  int64_t strip_dw[2]{};        // code dwords of the strip
  int64_t pf_jump[2]{};         // added to a prefetch address past the strip's end (see run)
};

template <int B, bool SYM, int R>
struct GroupRows {
  template <int F>
  static inline void step(const Decode<B, SYM>& dec, const __m512i (*d)[4], const __m512* zf,
                          const float* const* xr, int64_t row0, __m512 (*acc)[2][2]) {
    constexpr int row = row_of_field<B>(F);
    __m512 wv[2];
    #pragma GCC unroll 16
    for (int i = 0; i < 2; ++i) {
      wv[i] = dec.template field<F>(d[i]);
      if constexpr (!SYM) wv[i] = _mm512_sub_ps(wv[i], zf[i]);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 xb = _mm512_set1_ps(xr[r][row0 + row]);
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) acc[r][i][F & 1] = _mm512_fmadd_ps(xb, wv[i], acc[r][i][F & 1]);
    }
  }
  template <int... F>
  static inline void all_fields(std::integer_sequence<int, F...>, const Decode<B, SYM>& dec, const __m512i (*d)[4],
                                const __m512* zf, const float* const* xr, int64_t row0,
                                __m512 (*acc)[2][2]) {
    (step<F>(dec, d, zf, xr, row0, acc), ...);
  }

  static void run(const IntPackedMatrix& w, const Decode<B, SYM>& dec, const StripPair& sp, int64_t sg,
                  const __m512* scale, const __m512* zf, const float* x, int64_t ldx, int64_t m0, float* y,
                  int64_t ldy) {
    constexpr int kTile = static_cast<int>(tile_rows(B));
    constexpr int kDw = static_cast<int>(tile_dwords(B));
    const float* xr[R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) xr[r] = x + (m0 + r) * ldx;
    __m512 acc[R][2][2];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) acc[r][i][0] = acc[r][i][1] = _mm512_setzero_ps();
    const int64_t t0 = w.seg_begin(sg) / kTile, t1 = w.seg_begin(sg + 1) / kTile;
    for (int64_t t = t0; t < t1; ++t) {
      __m512i d[2][4];
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) {
        const uint32_t* p = sp.codes[i] + t * sp.tile_stride[i];
        // Two code streams per thread: ask for the line 4 KiB ahead so that enough reads are in
        // flight per core to approach the memory bandwidth with all cores busy (1 KiB ahead was
        // ~8 % slower single-threaded, no prefetch ~35 %: notes/profiles/cpu-decode-*.txt).
        // Past the strip's end, stream 1 (strip s + 1) runs on into strip s + 2, the next pair's
        // first stream; stream 0 would run into strip s + 1, which stream 1 is reading anyway,
        // so it jumps to strip s + 3 instead: the next pair starts with both streams in flight
        // (short strips — MoE experts, K = 1024..2048 — spend a quarter to half of a strip there).
        const int64_t pf = t * sp.tile_stride[i] + kPrefetchDwords;
        _mm_prefetch(reinterpret_cast<const char*>(sp.codes[i] + pf + (pf >= sp.strip_dw[i] ? sp.pf_jump[i] : 0)),
                     _MM_HINT_T0);
        const int64_t width = sp.tile_stride[i] / kDw;
        #pragma GCC unroll 16
        for (int k = 0; k < kDw; ++k) d[i][k] = _mm512_maskz_loadu_epi32(sp.mask[i], p + k * width);
        if constexpr (B == 3) combine3(d[i]);
      }
      all_fields(std::make_integer_sequence<int, kTile>{}, dec, d, zf, xr, t * kTile, acc);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      #pragma GCC unroll 16
      for (int i = 0; i < sp.n; ++i) {
        float* yp = y + (m0 + r) * ldy + sp.col[i];
        const __m512 sum = _mm512_add_ps(acc[r][i][0], acc[r][i][1]);
        const __m512 prev = sg == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(sp.mask[i], yp);
        _mm512_mask_storeu_ps(yp, sp.mask[i], _mm512_fmadd_ps(scale[i], sum, prev));
      }
    }
  }
};

template <int B, bool SYM>
void gemm(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0, int64_t s1, float* y,
          int64_t ldy) {
  const Decode<B, SYM> dec;
  const int64_t tiles = w.K_int / w.k_tile;
  for (int64_t s = s0; s < s1; s += 2) {
    StripPair sp;
    sp.n = static_cast<int>(std::min<int64_t>(2, s1 - s));
    #pragma GCC unroll 16
    for (int i = 0; i < 2; ++i) {
      const int64_t si = std::min(s + i, s1 - 1);
      const int64_t width = i < sp.n ? w.strip_width(si) : 0;
      sp.codes[i] = w.strip_codes(si);
      sp.tile_stride[i] = std::max<int64_t>(width, 1) * tile_dwords(B);
      sp.mask[i] = static_cast<__mmask16>((1u << width) - 1u);
      sp.col[i] = si * kStripWidth;
      sp.strip_dw[i] = tiles * sp.tile_stride[i];
    }
    // Stream 0 jumps over strip s + 1 (full width: s + 1 < s + 3 < s1) to s + 3 when that is in range.
    sp.pf_jump[0] = s + 3 < s1 ? 2 * sp.strip_dw[0] : 0;
    (void)tiles;
    for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
      const int64_t g = w.seg_group_of(sg);
      __m512 scale[2], zf[2];
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) {
        const int64_t si = std::min(s + i, s1 - 1);
        const int64_t width = i < sp.n ? w.strip_width(si) : 0;
        scale[i] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(sp.mask[i], w.strip_scales(si) + g * std::max<int64_t>(width, 1)));
        if constexpr (!SYM) {
          alignas(64) float z[16] = {};
          for (int64_t j = 0; j < width; ++j) z[j] = static_cast<float>(w.zero_at(g, sp.col[i] + j));
          zf[i] = _mm512_load_ps(z);
        }
      }
      for (int64_t m0 = 0; m0 < M; m0 += kRows) {
        switch (std::min<int64_t>(kRows, M - m0)) {
          case 1: GroupRows<B, SYM, 1>::run(w, dec, sp, sg, scale, zf, x, ldx, m0, y, ldy); break;
          case 2: GroupRows<B, SYM, 2>::run(w, dec, sp, sg, scale, zf, x, ldx, m0, y, ldy); break;
          case 3: GroupRows<B, SYM, 3>::run(w, dec, sp, sg, scale, zf, x, ldx, m0, y, ldy); break;
          default: GroupRows<B, SYM, 4>::run(w, dec, sp, sg, scale, zf, x, ldx, m0, y, ldy); break;
        }
      }
    }
  }
}

}  // namespace

void f32_qgw_gemm_4x32_avx512(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                              int64_t s1, float* y, int64_t ldy) {
  switch (w.bits * 2 + (w.sym ? 1 : 0)) {
    case 2 * 2 + 1: return gemm<2, true>(w, x, ldx, M, s0, s1, y, ldy);
    case 2 * 2: return gemm<2, false>(w, x, ldx, M, s0, s1, y, ldy);
    case 3 * 2 + 1: return gemm<3, true>(w, x, ldx, M, s0, s1, y, ldy);
    case 3 * 2: return gemm<3, false>(w, x, ldx, M, s0, s1, y, ldy);
    case 4 * 2 + 1: return gemm<4, true>(w, x, ldx, M, s0, s1, y, ldy);
    case 4 * 2: return gemm<4, false>(w, x, ldx, M, s0, s1, y, ldy);
    case 8 * 2 + 1: return gemm<8, true>(w, x, ldx, M, s0, s1, y, ldy);
    default: return gemm<8, false>(w, x, ldx, M, s0, s1, y, ldy);
  }
}

}  // namespace incq::inc_cpu::int_fast
