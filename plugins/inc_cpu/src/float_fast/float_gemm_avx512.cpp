// AVX-512 kernels of float_gemm.hpp. Tile: 4 weight rows (output columns) x up to 4 rows of x, 16
// lanes along K. Masked loads handle every remainder (K, group and row ends), so no shape needs a
// scalar path.
// GCC 12's AVX-512 headers build vectors from _mm*_undefined_*() (self-initialised locals), which
// -Wmaybe-uninitialized reports inside the headers once inlined; the values are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "float_gemm.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

constexpr int64_t kNB = 64;   // output columns per cache block
constexpr int64_t kMB = 16;   // rows of x per cache block
constexpr int64_t kKC = 512;  // depth per cache block when M > 4 (a multiple of 32 for FP4 blocks)

// Horizontal sums (GCC 12's _mm512_reduce_add_* trip -Wmaybe-uninitialized inside its headers).
inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}
inline double hsum(__m512d v) {
  const __m256d a = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  b = _mm_add_sd(b, _mm_unpackhi_pd(b, b));
  return _mm_cvtsd_f64(b);
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

// 16 FP8 codes -> their values (times 2^-8 for E4M3; `post` restores it).
inline __m512 decode_fp8(const uint8_t* p, __mmask16 m, __m128i shift, __m256i keep) {
  const __m128i b = _mm_maskz_loadu_epi8(m, p);
  const __m256i h = _mm256_and_si256(_mm256_sll_epi16(_mm256_cvtepi8_epi16(b), shift), keep);
  return _mm512_cvtph_ps(h);
}

struct TileRows {
  const uint8_t* codes[4];
  int64_t scale_row[4];
};

inline TileRows tile_rows(const FloatMatrix& w, int64_t n, int nr) {
  TileRows t;
  const int64_t row_bytes = w.elem == FloatElem::Fp8 ? w.K : w.K / 2;
  for (int r = 0; r < 4; ++r) {
    const int64_t row = n + std::min(r, nr - 1);  // tail rows repeat the last one; not stored
    t.codes[r] = w.codes.data() + row * row_bytes;
    t.scale_row[r] = row / w.rows_per_scale;
  }
  return t;
}

// yb[mi * ldyb + r] += sum_k x[mi, k] w[row r, k] over k in [ka, kb).
template <int MR>
void tile_fp8(const FloatMatrix& w, const TileRows& t, int nr, const float* x, int64_t ldx, int64_t ka, int64_t kb,
              float* yb, int64_t ldyb) {
  __m512 acc[MR][4];
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < 4; ++r) acc[mi][r] = _mm512_setzero_ps();
  const __m128i shift = _mm_cvtsi32_si128(w.fp8_shift);
  const __m256i keep = _mm256_set1_epi16(static_cast<short>(w.fp8_mask));
  const int64_t G = w.group;
  for (int64_t g = ka / G; g * G < kb; ++g) {
    const int64_t k0 = std::max(ka, g * G), k1 = std::min(kb, (g + 1) * G);
    __m512 s[4];
    for (int r = 0; r < 4; ++r) s[r] = _mm512_set1_ps(w.scale_at(t.scale_row[r], g));
    for (int64_t k = k0; k < k1; k += 16) {
      const __mmask16 m = tail_mask(k1 - k);
      __m512 wv[4];
      for (int r = 0; r < 4; ++r) wv[r] = _mm512_mul_ps(decode_fp8(t.codes[r] + k, m, shift, keep), s[r]);
      for (int mi = 0; mi < MR; ++mi) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, x + mi * ldx + k);
        for (int r = 0; r < 4; ++r) acc[mi][r] = _mm512_fmadd_ps(xv, wv[r], acc[mi][r]);
      }
    }
  }
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < nr; ++r) yb[mi * ldyb + r] += hsum(acc[mi][r]);
}

// FP4: a block of L = min(32, K - k0) elements is L/2 bytes; low nibbles are k0 .. k0+L/2-1, high
// nibbles the next L/2 (float_matrix.cpp repack_nibbles). ka is a multiple of 32.
template <int MR>
void tile_fp4(const FloatMatrix& w, const TileRows& t, int nr, const float* x, int64_t ldx, int64_t ka, int64_t kb,
              float* yb, int64_t ldyb) {
  __m512 acc[MR][4];
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < 4; ++r) acc[mi][r] = _mm512_setzero_ps();
  const __m512 lut = _mm512_loadu_ps(w.lut);
  const __m512i low4 = _mm512_set1_epi32(0xF);
  const int64_t G = w.group;
  for (int64_t k0 = ka; k0 < kb; k0 += 32) {
    const int64_t half = std::min<int64_t>(32, w.K - k0) / 2;
    const __mmask16 m = tail_mask(half);
    __m512 lo[4], hi[4];
    for (int r = 0; r < 4; ++r) {
      const __m512i d = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, t.codes[r] + k0 / 2));
      const float s_lo = w.scale_at(t.scale_row[r], k0 / G);
      const float s_hi = w.scale_at(t.scale_row[r], (k0 + half) / G);
      lo[r] = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(d, low4), lut), _mm512_set1_ps(s_lo));
      hi[r] = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), lut), _mm512_set1_ps(s_hi));
    }
    for (int mi = 0; mi < MR; ++mi) {
      const __m512 xl = _mm512_maskz_loadu_ps(m, x + mi * ldx + k0);
      const __m512 xh = _mm512_maskz_loadu_ps(m, x + mi * ldx + k0 + half);
      for (int r = 0; r < 4; ++r) {
        acc[mi][r] = _mm512_fmadd_ps(xl, lo[r], acc[mi][r]);
        acc[mi][r] = _mm512_fmadd_ps(xh, hi[r], acc[mi][r]);
      }
    }
  }
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < nr; ++r) yb[mi * ldyb + r] += hsum(acc[mi][r]);
}

template <int MR>
void tile(const FloatMatrix& w, const TileRows& t, int nr, const float* x, int64_t ldx, int64_t ka, int64_t kb,
          float* yb, int64_t ldyb) {
  if (w.elem == FloatElem::Fp8) {
    tile_fp8<MR>(w, t, nr, x, ldx, ka, kb, yb, ldyb);
  } else {
    tile_fp4<MR>(w, t, nr, x, ldx, ka, kb, yb, ldyb);
  }
}

// Prefill: the 4 weight rows of [ka, kb) decoded and scaled once into wp[r * kKC + (k - ka)], then
// reused by every 4-row tile of x (decoding per x tile would repeat it M / 4 times).
void decode_panel(const FloatMatrix& w, const TileRows& t, int64_t ka, int64_t kb, float* wp) {
  if (w.elem == FloatElem::Fp8) {
    const __m128i shift = _mm_cvtsi32_si128(w.fp8_shift);
    const __m256i keep = _mm256_set1_epi16(static_cast<short>(w.fp8_mask));
    const int64_t G = w.group;
    for (int64_t g = ka / G; g * G < kb; ++g) {
      const int64_t k0 = std::max(ka, g * G), k1 = std::min(kb, (g + 1) * G);
      for (int r = 0; r < 4; ++r) {
        const __m512 s = _mm512_set1_ps(w.scale_at(t.scale_row[r], g));
        for (int64_t k = k0; k < k1; k += 16) {
          const __mmask16 m = tail_mask(k1 - k);
          _mm512_mask_storeu_ps(wp + r * kKC + (k - ka), m, _mm512_mul_ps(decode_fp8(t.codes[r] + k, m, shift, keep), s));
        }
      }
    }
    return;
  }
  const __m512 lut = _mm512_loadu_ps(w.lut);
  const __m512i low4 = _mm512_set1_epi32(0xF);
  for (int64_t k0 = ka; k0 < kb; k0 += 32) {
    const int64_t half = std::min<int64_t>(32, w.K - k0) / 2;
    const __mmask16 m = tail_mask(half);
    for (int r = 0; r < 4; ++r) {
      const __m512i d = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, t.codes[r] + k0 / 2));
      const float s_lo = w.scale_at(t.scale_row[r], k0 / w.group);
      const float s_hi = w.scale_at(t.scale_row[r], (k0 + half) / w.group);
      float* dst = wp + r * kKC + (k0 - ka);
      _mm512_mask_storeu_ps(dst, m, _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(d, low4), lut), _mm512_set1_ps(s_lo)));
      _mm512_mask_storeu_ps(dst + half, m,
                            _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), lut), _mm512_set1_ps(s_hi)));
    }
  }
}

template <int MR>
void tile_panel(const float* wp, int nr, const float* x, int64_t ldx, int64_t ka, int64_t kb, float* yb, int64_t ldyb) {
  __m512 acc[MR][4];
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < 4; ++r) acc[mi][r] = _mm512_setzero_ps();
  for (int64_t k = ka; k < kb; k += 16) {
    const __mmask16 m = tail_mask(kb - k);
    __m512 wv[4];
    for (int r = 0; r < 4; ++r) wv[r] = _mm512_maskz_loadu_ps(m, wp + r * kKC + (k - ka));
    for (int mi = 0; mi < MR; ++mi) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + mi * ldx + k);
      for (int r = 0; r < 4; ++r) acc[mi][r] = _mm512_fmadd_ps(xv, wv[r], acc[mi][r]);
    }
  }
  for (int mi = 0; mi < MR; ++mi)
    for (int r = 0; r < nr; ++r) yb[mi * ldyb + r] += hsum(acc[mi][r]);
}

inline void store_out(const GemmOut& y, int64_t m, int64_t j, float v) {
  switch (y.dtype) {
    case INCQ_DTYPE_F32: static_cast<float*>(y.data)[m * y.ld + j] = v; break;
    case INCQ_DTYPE_BF16: static_cast<uint16_t*>(y.data)[m * y.ld + j] = float_to_bf16(v); break;
    default: static_cast<uint16_t*>(y.data)[m * y.ld + j] = float_to_half(v); break;
  }
}

}  // namespace

void f32_floatw_gemm_4x4_avx512(const FloatMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t n0,
                                int64_t n1, const GemmOut& y) {
  alignas(64) float yb[kMB * kNB];
  alignas(64) float wp[4 * kKC];
  const float post = static_cast<float>(w.post_mul / w.post_div);
  for (int64_t nb0 = n0; nb0 < n1; nb0 += kNB) {
    const int64_t nbn = std::min(kNB, n1 - nb0);
    for (int64_t mb0 = 0; mb0 < M; mb0 += kMB) {
      const int64_t mbn = std::min(kMB, M - mb0);
      std::fill(yb, yb + kMB * kNB, 0.0f);
      // Decode (few rows of x): all of K per 4 weight rows keeps 4 sequential streams. Otherwise a
      // 512-deep slice of 64 weight rows is reused by all 16 rows of x from L1/L2.
      const int64_t kc = mbn <= 4 ? w.K : kKC;
      for (int64_t ka = 0; ka < w.K; ka += kc) {
        const int64_t kb = std::min(w.K, ka + kc);
        for (int64_t j = 0; j < nbn; j += 4) {
          const int nr = static_cast<int>(std::min<int64_t>(4, nbn - j));
          const TileRows t = tile_rows(w, nb0 + j, nr);
          if (mbn <= 4) {  // decode: weights decoded in registers, straight from memory
            const float* xp = x + mb0 * ldx;
            float* yp = yb + j;
            switch (mbn) {
              case 1: tile<1>(w, t, nr, xp, ldx, ka, kb, yp, kNB); break;
              case 2: tile<2>(w, t, nr, xp, ldx, ka, kb, yp, kNB); break;
              case 3: tile<3>(w, t, nr, xp, ldx, ka, kb, yp, kNB); break;
              default: tile<4>(w, t, nr, xp, ldx, ka, kb, yp, kNB); break;
            }
            continue;
          }
          decode_panel(w, t, ka, kb, wp);
          for (int64_t mi = 0; mi < mbn; mi += 4) {
            const float* xp = x + (mb0 + mi) * ldx;
            float* yp = yb + mi * kNB + j;
            switch (std::min<int64_t>(4, mbn - mi)) {
              case 1: tile_panel<1>(wp, nr, xp, ldx, ka, kb, yp, kNB); break;
              case 2: tile_panel<2>(wp, nr, xp, ldx, ka, kb, yp, kNB); break;
              case 3: tile_panel<3>(wp, nr, xp, ldx, ka, kb, yp, kNB); break;
              default: tile_panel<4>(wp, nr, xp, ldx, ka, kb, yp, kNB); break;
            }
          }
        }
      }
      for (int64_t mi = 0; mi < mbn; ++mi)
        for (int64_t jn = 0; jn < nbn; ++jn)
          store_out(y, mb0 + mi, nb0 - n0 + jn, yb[mi * kNB + jn] * post + w.bias_at(nb0 + jn));
    }
  }
}

void f64_floatw_gemm_4x1_avx512(const FloatMatrix& w, const double* x, int64_t ldx, int64_t M, int64_t n0,
                                int64_t n1, double* y, int64_t ldy) {
  const __m128i shift = _mm_cvtsi32_si128(w.fp8_shift);
  const __m256i keep = _mm256_set1_epi16(static_cast<short>(w.fp8_mask));
  const __m512 lut = _mm512_loadu_ps(w.lut);
  const __m512i low4 = _mm512_set1_epi32(0xF);
  const int64_t G = w.group;
  for (int64_t n = n0; n < n1; n += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, n1 - n));
    const TileRows t = tile_rows(w, n, nr);
    for (int64_t mi = 0; mi < M; ++mi) {
      const double* xr = x + mi * ldx;
      __m512d acc[4];
      for (int r = 0; r < 4; ++r) acc[r] = _mm512_setzero_pd();
      // Exact products: decoded element (<= 4 bits) x scale (<= 24 bits) in double, then one FMA.
      auto add16 = [&](int r, __m512 e, double s, const double* xp, __mmask16 m) {
        const __m512d sd = _mm512_set1_pd(s);
        const __m512d wl = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(e)), sd);
        const __m512d wh = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)), sd);
        acc[r] = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(static_cast<__mmask8>(m & 0xFF), xp), wl, acc[r]);
        acc[r] = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(static_cast<__mmask8>(m >> 8), xp + 8), wh, acc[r]);
      };
      if (w.elem == FloatElem::Fp8) {
        for (int64_t g = 0; g * G < w.K; ++g) {
          const int64_t k0 = g * G, k1 = std::min(w.K, k0 + G);
          double s[4];
          for (int r = 0; r < 4; ++r) s[r] = w.scale_at(t.scale_row[r], g);
          for (int64_t k = k0; k < k1; k += 16) {
            const __mmask16 m = tail_mask(k1 - k);
            for (int r = 0; r < 4; ++r) add16(r, decode_fp8(t.codes[r] + k, m, shift, keep), s[r], xr + k, m);
          }
        }
      } else {
        for (int64_t k0 = 0; k0 < w.K; k0 += 32) {
          const int64_t half = std::min<int64_t>(32, w.K - k0) / 2;
          const __mmask16 m = tail_mask(half);
          for (int r = 0; r < 4; ++r) {
            const __m512i d = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, t.codes[r] + k0 / 2));
            add16(r, _mm512_permutexvar_ps(_mm512_and_si512(d, low4), lut), w.scale_at(t.scale_row[r], k0 / G),
                  xr + k0, m);
            add16(r, _mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), lut), w.scale_at(t.scale_row[r], (k0 + half) / G),
                  xr + k0 + half, m);
          }
        }
      }
      for (int r = 0; r < nr; ++r)
        y[mi * ldy + (n - n0) + r] =
            hsum(acc[r]) * w.post_mul / w.post_div + static_cast<double>(w.bias_at(n + r));
    }
  }
}

}  // namespace incq::inc_cpu
