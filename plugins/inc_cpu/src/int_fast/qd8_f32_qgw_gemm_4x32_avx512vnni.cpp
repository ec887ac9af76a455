// int8-activation GEMM/GEMV over the internal integer layout, AVX512-VNNI.
// The layout's dwords already hold 4 consecutive rows of one column in their bytes (one "sub-plane"
// per shift), so a shift and a mask turn a tile into the u8 operand of vpdpbusd; the activation
// codes (s8, per token) are the broadcast operand. Per group the int32 sum is exact; the zero point
// is removed as z * xsum (the group's activation code sum) before the one fp32 scaling.
#include <immintrin.h>

// GCC 12 flags the deliberately undefined pass-through operand inside its own AVX-512 intrinsic
// headers (masked loads, cvtph) as maybe-uninitialized; the values are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>
#include <cstring>

#include "int_fast/int_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// Rows per pass: 8 rows x 2 strips of int32 accumulators (16 zmm) amortize each decoded tile over
// 16 vpdpbusd; a single row keeps two accumulator chains per strip instead (dpbusd latency).
constexpr int kRows = 8;

template <int B>
struct SubPlanes {
  static constexpr int kCount = static_cast<int>(tile_rows(B) / 4);
  // u8 codes of rows 4S..4S+3 of each column.
  template <int S>
  static inline __m512i get(const __m512i* d) {
    if constexpr (B == 8) {
      return d[0];
    } else if constexpr (B == 3) {
      const __m512i lo = _mm512_srli_epi32(d[S >= 4 ? 1 : 0], 2 * (S % 4));
      const __m512i hb = S <= 2 ? _mm512_slli_epi32(d[2], S <= 2 ? 2 - S : 0)
                                : _mm512_srli_epi32(d[2], S > 2 ? S - 2 : 0);
      const __m512i v = _mm512_ternarylogic_epi32(lo, hb, _mm512_set1_epi32(0x03030303), 0xE4);
      return _mm512_and_si512(v, _mm512_set1_epi32(0x07070707));
    } else {
      constexpr uint32_t m = (1u << B) - 1u;
      const __m512i v = S == 0 ? d[0] : _mm512_srli_epi32(d[0], B * S);
      return _mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(m * 0x01010101u)));
    }
  }
};

struct StripPair {
  int n = 0;
  const uint32_t* codes[2]{};
  int64_t width[2]{};
  __mmask16 mask[2]{};
  int64_t col[2]{};
};

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <int B, int R>
struct GroupRows {
  static constexpr int kChains = R == 1 ? 2 : 1;
  template <int S>
  static inline void step(const __m512i (*d)[3], const int8_t* const* xr, int64_t row0, __m512i (*acc)[2][kChains]) {
    __m512i u[2];
    #pragma GCC unroll 16
    for (int i = 0; i < 2; ++i) u[i] = SubPlanes<B>::template get<S>(d[i]);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512i xb = _mm512_set1_epi32(load_i32(xr[r] + row0 + 4 * S));
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) acc[r][i][S % kChains] = _mm512_dpbusd_epi32(acc[r][i][S % kChains], u[i], xb);
    }
  }
  template <int... S>
  static inline void all(std::integer_sequence<int, S...>, const __m512i (*d)[3], const int8_t* const* xr,
                         int64_t row0, __m512i (*acc)[2][kChains]) {
    (step<S>(d, xr, row0, acc), ...);
  }

  static void run(const IntPackedMatrix& w, bool sym, const StripPair& sp, int64_t sg, const __m512* scale, const __m512i* zi,
                  const int8_t* xq, int64_t ldq, const float* sx, const int32_t* xsum, int64_t m0, float* y,
                  int64_t ldy) {
    constexpr int kTile = static_cast<int>(tile_rows(B));
    constexpr int kDw = static_cast<int>(tile_dwords(B));
    const int8_t* xr[R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) xr[r] = xq + (m0 + r) * ldq;
    // Symmetric: z = 2^(B-1) for every column, so -z * xsum is one scalar per row: the first
    // chain starts there instead of subtracting it in the epilogue (int32 wraps alike, so the sums
    // are bit-identical), which takes a broadcast and two subtracts per row off the M >= 8 path.
    __m512i acc[R][2][kChains];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const uint32_t zx = static_cast<uint32_t>(xsum[(m0 + r) * w.num_segments() + sg]) << (B - 1);
      const __m512i init = sym ? _mm512_set1_epi32(static_cast<int32_t>(0u - zx)) : _mm512_setzero_si512();
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) {
        acc[r][i][0] = init;
        #pragma GCC unroll 16
        for (int c = 1; c < kChains; ++c) acc[r][i][c] = _mm512_setzero_si512();
      }
    }
    const int64_t t0 = w.seg_begin(sg) / kTile, t1 = w.seg_begin(sg + 1) / kTile;
    for (int64_t t = t0; t < t1; ++t) {
      __m512i d[2][3];
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) {
        const uint32_t* p = sp.codes[i] + t * kDw * sp.width[i];
        _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchDwords), _MM_HINT_T0);  // as in the fp32 kernel
        #pragma GCC unroll 16
        for (int k = 0; k < kDw; ++k) d[i][k] = _mm512_maskz_loadu_epi32(sp.mask[i], p + k * sp.width[i]);
      }
      all(std::make_integer_sequence<int, SubPlanes<B>::kCount>{}, d, xr, t * kTile, acc);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const int64_t m = m0 + r;
      const __m512 sxv = _mm512_set1_ps(sx[m]);
      #pragma GCC unroll 16
      for (int i = 0; i < sp.n; ++i) {
        float* yp = y + m * ldy + sp.col[i];
        __m512i sum = acc[r][i][0];
        if constexpr (kChains == 2) sum = _mm512_add_epi32(sum, acc[r][i][kChains - 1]);
        // Asymmetric: per-column zeros, z * xsum with vpmulld (sym started the sum at -z * xsum).
        const __m512i v = sym ? sum : _mm512_sub_epi32(sum, _mm512_mullo_epi32(zi[i], _mm512_set1_epi32(xsum[m * w.num_segments() + sg])));
        const __m512 prev = sg == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(sp.mask[i], yp);
        _mm512_mask_storeu_ps(yp, sp.mask[i], _mm512_fmadd_ps(_mm512_mul_ps(sxv, scale[i]), _mm512_cvtepi32_ps(v), prev));
      }
    }
  }
};

template <int B>
void gemm(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq, const float* sx, const int32_t* xsum, int64_t M,
          int64_t s0, int64_t s1, float* y, int64_t ldy) {
  for (int64_t s = s0; s < s1; s += 2) {
    StripPair sp;
    sp.n = static_cast<int>(std::min<int64_t>(2, s1 - s));
    #pragma GCC unroll 16
    for (int i = 0; i < 2; ++i) {
      const int64_t si = std::min(s + i, s1 - 1);
      const int64_t width = i < sp.n ? w.strip_width(si) : 0;
      sp.codes[i] = w.strip_codes(si);
      sp.width[i] = w.strip_width(si);
      sp.mask[i] = static_cast<__mmask16>((1u << width) - 1u);
      sp.col[i] = si * kStripWidth;
    }
    for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
      const int64_t g = w.seg_group_of(sg);
      __m512 scale[2];
      __m512i zi[2];
      #pragma GCC unroll 16
      for (int i = 0; i < 2; ++i) {
        const int64_t si = std::min(s + i, s1 - 1);
        scale[i] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(sp.mask[i], w.strip_scales(si) + g * sp.width[i]));
        if (w.sym) {
          zi[i] = _mm512_set1_epi32(1 << (B - 1));
        } else {
          alignas(64) int32_t z[16] = {};
          for (int64_t j = 0; j < sp.width[i] && i < sp.n; ++j) z[j] = w.zero_at(g, sp.col[i] + j);
          zi[i] = _mm512_load_si512(z);
        }
      }
      // Row blocks of 8, then one each of 4, 2, 1 for the remainder (M = 7: 4 + 2 + 1).
      int64_t m0 = 0;
      for (; m0 + 8 <= M; m0 += 8) GroupRows<B, 8>::run(w, w.sym, sp, sg, scale, zi, xq, ldq, sx, xsum, m0, y, ldy);
      if (M - m0 >= 4) {
        GroupRows<B, 4>::run(w, w.sym, sp, sg, scale, zi, xq, ldq, sx, xsum, m0, y, ldy);
        m0 += 4;
      }
      if (M - m0 >= 2) {
        GroupRows<B, 2>::run(w, w.sym, sp, sg, scale, zi, xq, ldq, sx, xsum, m0, y, ldy);
        m0 += 2;
      }
      if (M - m0 >= 1) GroupRows<B, 1>::run(w, w.sym, sp, sg, scale, zi, xq, ldq, sx, xsum, m0, y, ldy);
    }
  }
}

}  // namespace

void qd8_f32_qgw_gemm_4x32_avx512vnni(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq, const float* sx,
                                      const int32_t* xsum, int64_t M, int64_t s0, int64_t s1, float* y,
                                      int64_t ldy) {
  switch (w.bits) {
    case 2: return gemm<2>(w, xq, ldq, sx, xsum, M, s0, s1, y, ldy);
    case 3: return gemm<3>(w, xq, ldq, sx, xsum, M, s0, s1, y, ldy);
    case 4: return gemm<4>(w, xq, ldq, sx, xsum, M, s0, s1, y, ldy);
    default: return gemm<8>(w, xq, ldq, sx, xsum, M, s0, s1, y, ldy);
  }
}

}  // namespace incq::inc_cpu::int_fast
