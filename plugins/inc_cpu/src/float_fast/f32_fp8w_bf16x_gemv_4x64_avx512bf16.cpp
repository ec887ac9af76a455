// FP8 (e4m3 / e5m2) weight-only decode GEMV in bf16 mode (float_gemm.hpp). Every FP8 value,
// subnormals included, is exact in bf16, so 64 codes become two vectors of 32 bf16 weights with
// two 128-entry byte tables (vpermi2b: low and high byte of the magnitude's bf16 bits, the sign OR-ed
// in with one vpternlogd) and two byte interleaves; vdpbf16ps multiplies them exactly with the bf16
// activations and accumulates in fp32. The interleaves leave the weights of one 64-block in the
// order permute_bf16_row_fp8w gives x, so neither the checkpoint's codes nor the fp32 path's layout
// change. Scales are applied per group to the fp32 partial sums (exact products, one rounding more
// per group), which is why this path needs groups that are multiples of 64 (or one group per row).
// The previous fp32 path spent about 6 ops per 16 codes on the binary16 conversion alone; this one
// spends 5 per 64.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 headers (see float_gemm_avx512.cpp)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "float_gemm.hpp"
#include "incq/plugin_helpers.hpp"

// vpermi2b is AVX512-VBMI, which this file's -m flags (AVX512-BF16 tier) do not imply; callers
// check fp8_bf16_cpu_supported() first.
#pragma GCC target("avx512vbmi")

namespace incq::inc_cpu {
namespace {

inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

constexpr int64_t kPrefetchBytes = 4096;  // ahead in each weight row (prefetches never fault)

struct Tables {
  __m512i hi0, hi1, lo0, lo1, sign;
};

// 64 codes -> w0, w1: their bf16 weights in permute_bf16_row_fp8w order (w0: k 0-7, 16-23, 32-39,
// 48-55 of the block; w1: the other 32).
inline void decode64(const Tables& t, const uint8_t* p, __mmask64 m, __m512i* w0, __m512i* w1) {
  const __m512i c = _mm512_maskz_loadu_epi8(m, p);
  __m512i hi = _mm512_permutex2var_epi8(t.hi0, c, t.hi1);  // index bit 7 (the sign) is ignored
  hi = _mm512_ternarylogic_epi32(hi, c, t.sign, 0xF8);      // hi | (c & 0x80)
  const __m512i lo = _mm512_permutex2var_epi8(t.lo0, c, t.lo1);
  *w0 = _mm512_unpacklo_epi8(lo, hi);
  *w1 = _mm512_unpackhi_epi8(lo, hi);
}

inline __m512 dot(__m512 acc, __m512i w, const uint16_t* x) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(w), reinterpret_cast<__m512bh>(_mm512_loadu_si512(x)));
}

// out[mi][r] = sum_g s(r, g) sum_{k in g} x[mi, k] w[r, k] for 4 weight rows and MR rows of x.
// Grouped: groups end at 64-block ends (G % 64 == 0: w0 and w1 mix both halves of a block); else one
// scale per row, applied at the end.
template <int MR, bool kGrouped>
void tile(const Tables& t, const uint8_t* const* codes, const int64_t* srow, int64_t K, int64_t G,
          const FloatMatrix& w, const uint16_t* x, int64_t ldx, float out[][4]) {
  // Every loop over r and mi is unrolled so acc / tot stay in registers (GCC otherwise kept them,
  // and the decoded weights, on the stack: a store and reload per vdpbf16ps).
  __m512 acc[MR][4], tot[MR][4];
#pragma GCC unroll 2
  for (int mi = 0; mi < MR; ++mi)
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) acc[mi][r] = tot[mi][r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 64) {
    const int64_t left = K - k;
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    // Past K both the codes (masked load: code 0 decodes to +0) and x (zero-padded) are 0.
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      // 4 row streams per core are too few for the hardware prefetchers alone at decode sizes.
      _mm_prefetch(reinterpret_cast<const char*>(codes[r] + k + kPrefetchBytes), _MM_HINT_T0);
      __m512i w0, w1;
      decode64(t, codes[r] + k, m, &w0, &w1);
#pragma GCC unroll 2
      for (int mi = 0; mi < MR; ++mi) {
        acc[mi][r] = dot(acc[mi][r], w0, x + mi * ldx + k);
        acc[mi][r] = dot(acc[mi][r], w1, x + mi * ldx + k + 32);
      }
    }
    if (kGrouped && (left <= 64 || (k + 64) % G == 0)) {  // a group ends: scale it into tot
      const int64_t g = (std::min(K, k + 64) - 1) / G;
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const __m512 s = _mm512_set1_ps(w.scale_at(srow[r], g));
#pragma GCC unroll 2
        for (int mi = 0; mi < MR; ++mi) {
          tot[mi][r] = _mm512_fmadd_ps(acc[mi][r], s, tot[mi][r]);
          acc[mi][r] = _mm512_setzero_ps();
        }
      }
    }
  }
#pragma GCC unroll 2
  for (int mi = 0; mi < MR; ++mi) {
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      out[mi][r] = kGrouped ? hsum(tot[mi][r]) : hsum(acc[mi][r]) * w.scale_at(srow[r], 0);
    }
  }
}

inline void store_out(const GemmOut& y, int64_t m, int64_t j, float v) {
  switch (y.dtype) {
    case INCQ_DTYPE_F32: static_cast<float*>(y.data)[m * y.ld + j] = v; break;
    case INCQ_DTYPE_BF16: static_cast<uint16_t*>(y.data)[m * y.ld + j] = float_to_bf16(v); break;
    default: static_cast<uint16_t*>(y.data)[m * y.ld + j] = float_to_half(v); break;
  }
}

}  // namespace

bool fp8_bf16_cpu_supported() {
  static const bool ok = float_fast_cpu_supported() && __builtin_cpu_supports("avx512bf16") &&
                         __builtin_cpu_supports("avx512vbmi");
  return ok;
}

void permute_bf16_row_fp8w(const uint16_t* x, int64_t K, uint16_t* out) {
  // Two-source word permutes over the block's 64 words (index = k within the block): out[j] for
  // j < 32 is k = 16 (j / 8) + j % 8, for j >= 32 the same + 8.
  alignas(64) uint16_t i0[32], i1[32];
  for (int j = 0; j < 32; ++j) {
    i0[j] = static_cast<uint16_t>(16 * (j / 8) + j % 8);
    i1[j] = static_cast<uint16_t>(i0[j] + 8);
  }
  const __m512i idx0 = _mm512_load_si512(i0), idx1 = _mm512_load_si512(i1);
  for (int64_t b = 0; b < K; b += 64) {
    const int64_t left = K - b;
    const __mmask32 m0 = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
    const __mmask32 m1 = left >= 64 ? ~__mmask32{0} : left <= 32 ? 0 : (__mmask32{1} << (left - 32)) - 1;
    const __m512i a = _mm512_maskz_loadu_epi16(m0, x + b), c = _mm512_maskz_loadu_epi16(m1, x + b + 32);
    _mm512_storeu_si512(out + b, _mm512_permutex2var_epi16(a, idx0, c));
    _mm512_storeu_si512(out + b + 32, _mm512_permutex2var_epi16(a, idx1, c));
  }
}

void f32_fp8w_bf16x_gemv_4x64_avx512bf16(const FloatMatrix& w, const uint16_t* x, int64_t ldx, int64_t M, int64_t n0,
                                         int64_t n1, const GemmOut& y) {
  Tables t;
  t.hi0 = _mm512_loadu_si512(w.bf16_hi);
  t.hi1 = _mm512_loadu_si512(w.bf16_hi + 64);
  t.lo0 = _mm512_loadu_si512(w.bf16_lo);
  t.lo1 = _mm512_loadu_si512(w.bf16_lo + 64);
  t.sign = _mm512_set1_epi8(static_cast<char>(0x80));
  const bool grouped = w.scale_cols > 1;
  const float post = static_cast<float>(1.0 / w.post_div);
  for (int64_t n = n0; n < n1; n += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, n1 - n));
    const uint8_t* codes[4];
    int64_t srow[4];
    for (int r = 0; r < 4; ++r) {
      const int64_t row = n + std::min(r, nr - 1);  // tail rows repeat the last one; not stored
      codes[r] = w.codes.data() + row * w.K;
      srow[r] = row / w.rows_per_scale;
    }
    for (int64_t mi = 0; mi < M; mi += 2) {
      // A second pair of x rows re-reads these 4 weight rows from L2, not memory.
      float out[2][4];
      const uint16_t* xp = x + mi * ldx;
      if (M - mi >= 2) {
        grouped ? tile<2, true>(t, codes, srow, w.K, w.group, w, xp, ldx, out)
                : tile<2, false>(t, codes, srow, w.K, w.group, w, xp, ldx, out);
      } else {
        grouped ? tile<1, true>(t, codes, srow, w.K, w.group, w, xp, ldx, out)
                : tile<1, false>(t, codes, srow, w.K, w.group, w, xp, ldx, out);
      }
      for (int64_t m2 = 0; m2 < std::min<int64_t>(2, M - mi); ++m2)
        for (int r = 0; r < nr; ++r)
          store_out(y, mi + m2, n - n0 + r, out[m2][r] * post + w.bias_at(n + r));
    }
  }
}

}  // namespace incq::inc_cpu
