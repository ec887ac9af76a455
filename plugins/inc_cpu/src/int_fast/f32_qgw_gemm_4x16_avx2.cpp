// fp32-activation GEMM/GEMV over the internal integer layout for AVX2 machines (no AVX-512).
// One strip (16 columns = two 8-lane halves) x up to 4 rows per pass; codes are decoded exactly
// to float(q) - float(z) with shift/and/convert (AVX2 has no 16-entry float table permute).
#include <immintrin.h>

#include <algorithm>

#include "int_fast/int_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

constexpr int kRows = 4;

template <int B>
constexpr int row_of_field(int f) {
  if constexpr (B == 3) {
    const int p = f % 16;
    return (f >= 16 ? 16 : 0) + 4 * (p % 4) + p / 4;
  } else {
    constexpr int per_byte = 8 / B;
    return 4 * (f % per_byte) + f / per_byte;
  }
}

template <int B, int F>
inline __m256 field(const __m256i* d) {
  if constexpr (B == 3) {
    constexpr int p = F % 16;
    constexpr int p2 = 8 * (p / 4) + p % 4 + (F >= 16 ? 4 : 0);
    const __m256i lo = _mm256_and_si256(_mm256_srli_epi32(d[F >= 16 ? 1 : 0], 2 * p), _mm256_set1_epi32(3));
    const __m256i hb = _mm256_and_si256(_mm256_srli_epi32(d[2], p2), _mm256_set1_epi32(1));
    return _mm256_cvtepi32_ps(_mm256_or_si256(lo, _mm256_slli_epi32(hb, 2)));
  } else {
    const __m256i v = _mm256_and_si256(_mm256_srli_epi32(d[0], B * F), _mm256_set1_epi32((1 << B) - 1));
    return _mm256_cvtepi32_ps(v);
  }
}

template <int B, int R>
struct GroupRows {
  template <int F>
  static inline void step(const __m256i (*d)[3], const __m256* zf, const float* const* xr, int64_t row0,
                          __m256 (*acc)[2]) {
    constexpr int row = row_of_field<B>(F);
    __m256 wv[2];
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) wv[h] = _mm256_sub_ps(field<B, F>(d[h]), zf[h]);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 xb = _mm256_broadcast_ss(xr[r] + row0 + row);
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) acc[r][h] = _mm256_fmadd_ps(xb, wv[h], acc[r][h]);
    }
  }
  template <int... F>
  static inline void all(std::integer_sequence<int, F...>, const __m256i (*d)[3], const __m256* zf,
                         const float* const* xr, int64_t row0, __m256 (*acc)[2]) {
    (step<F>(d, zf, xr, row0, acc), ...);
  }
  static void run(const IntPackedMatrix& w, const uint32_t* codes, int64_t width, const __m256i* mask, int64_t col,
                  int64_t sg, const __m256* scale, const __m256* zf, const float* x, int64_t ldx, int64_t m0, float* y,
                  int64_t ldy) {
    constexpr int kTile = static_cast<int>(tile_rows(B));
    constexpr int kDw = static_cast<int>(tile_dwords(B));
    const float* xr[R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) xr[r] = x + (m0 + r) * ldx;
    __m256 acc[R][2];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const int64_t t0 = w.seg_begin(sg) / kTile, t1 = w.seg_begin(sg + 1) / kTile;
    for (int64_t t = t0; t < t1; ++t) {
      __m256i d[2][3];
      const uint32_t* p = codes + t * kDw * width;
      #pragma GCC unroll 16
      for (int k = 0; k < kDw; ++k) {
        #pragma GCC unroll 16
        for (int h = 0; h < 2; ++h) {
          d[h][k] = _mm256_maskload_epi32(reinterpret_cast<const int*>(p + k * width + 8 * h), mask[h]);
        }
      }
      all(std::make_integer_sequence<int, kTile>{}, d, zf, xr, t * kTile, acc);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      float* yp = y + (m0 + r) * ldy + col;
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) {
        const __m256 prev = sg == 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(yp + 8 * h, mask[h]);
        _mm256_maskstore_ps(yp + 8 * h, mask[h], _mm256_fmadd_ps(scale[h], acc[r][h], prev));
      }
    }
  }
};

template <int B>
void gemm(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0, int64_t s1, float* y,
          int64_t ldy) {
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t width = w.strip_width(s), col = s * kStripWidth;
    alignas(32) int32_t lanes[16];
    for (int j = 0; j < 16; ++j) lanes[j] = j < width ? -1 : 0;
    const __m256i mask[2] = {_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)),
                             _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + 8))};
    for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
      const int64_t g = w.seg_group_of(sg);
      alignas(32) float sc[16] = {}, z[16] = {};
      const uint16_t* sp = w.strip_scales(s) + g * width;
      for (int64_t j = 0; j < width; ++j) {
        sc[j] = _cvtsh_ss(sp[j]);
        z[j] = static_cast<float>(w.zero_at(g, col + j));
      }
      const __m256 scale[2] = {_mm256_load_ps(sc), _mm256_load_ps(sc + 8)};
      const __m256 zf[2] = {_mm256_load_ps(z), _mm256_load_ps(z + 8)};
      for (int64_t m0 = 0; m0 < M; m0 += kRows) {
        switch (std::min<int64_t>(kRows, M - m0)) {
          case 1: GroupRows<B, 1>::run(w, w.strip_codes(s), width, mask, col, sg, scale, zf, x, ldx, m0, y, ldy); break;
          case 2: GroupRows<B, 2>::run(w, w.strip_codes(s), width, mask, col, sg, scale, zf, x, ldx, m0, y, ldy); break;
          case 3: GroupRows<B, 3>::run(w, w.strip_codes(s), width, mask, col, sg, scale, zf, x, ldx, m0, y, ldy); break;
          default: GroupRows<B, 4>::run(w, w.strip_codes(s), width, mask, col, sg, scale, zf, x, ldx, m0, y, ldy); break;
        }
      }
    }
  }
}

}  // namespace

void f32_qgw_gemm_4x16_avx2(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                            int64_t s1, float* y, int64_t ldy) {
  switch (w.bits) {
    case 2: return gemm<2>(w, x, ldx, M, s0, s1, y, ldy);
    case 3: return gemm<3>(w, x, ldx, M, s0, s1, y, ldy);
    case 4: return gemm<4>(w, x, ldx, M, s0, s1, y, ldy);
    default: return gemm<8>(w, x, ldx, M, s0, s1, y, ldy);
  }
}

}  // namespace incq::inc_cpu::int_fast
