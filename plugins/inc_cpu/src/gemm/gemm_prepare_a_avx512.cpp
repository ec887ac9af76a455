#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm/gemm_prepare_a.hpp"

namespace incq::inc_cpu::gemm {
namespace {

// fp32 -> bf16 round to nearest even on 16 lanes (finite inputs): add 0x7FFF + lsb, keep the top half.
inline __m256i to_bf16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

}  // namespace

void prepare_a_bf16_from_f32_avx512(const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                    int64_t Kp, uint16_t* out, int64_t ldo) {
  for (int64_t m = m0; m < m1; ++m) {
    const float* xr = x + m * ldx;
    uint16_t* o = out + m * ldo;
    for (int64_t k = 0; k < Kp; k += 16) {
      const __mmask16 mk = k < K ? tail_mask(K - k) : 0;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + k), to_bf16(_mm512_maskz_loadu_ps(mk, xr + k)));
    }
  }
}

void prepare_a_bf16_from_bf16_avx512(const uint16_t* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                     int64_t Kp, uint16_t* out, int64_t ldo) {
  for (int64_t m = m0; m < m1; ++m) {
    std::memcpy(out + m * ldo, x + m * ldx, static_cast<size_t>(K) * 2);
    std::memset(out + m * ldo + K, 0, static_cast<size_t>(Kp - K) * 2);
  }
}

void prepare_a_s8_from_f32_avx512(const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                  int64_t Kp, int8_t* out, int64_t ldo, float* a_scale, const int64_t* group_start,
                                  int64_t num_groups, int32_t* group_sum) {
  for (int64_t m = m0; m < m1; ++m) {
    const float* xr = x + m * ldx;
    int8_t* o = out + m * ldo;
    __m512 amax = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16)
      amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(K - k), xr + k)));
    const float s = _mm512_reduce_max_ps(amax) / 127.0f;
    a_scale[m] = s;
    if (s == 0.0f) {
      std::memset(o, 0, static_cast<size_t>(Kp));
    } else {
      const __m512 vs = _mm512_set1_ps(s);
      for (int64_t k = 0; k < Kp; k += 16) {
        const __mmask16 mk = k < K ? tail_mask(K - k) : 0;
        // Division, not a reciprocal multiply, so codes match the scalar reference bit for bit.
        __m512i q = _mm512_cvtps_epi32(_mm512_div_ps(_mm512_maskz_loadu_ps(mk, xr + k), vs));
        q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-128)), _mm512_set1_epi32(127));
        _mm_mask_storeu_epi8(o + k, tail_mask(Kp - k), _mm512_cvtepi32_epi8(q));
      }
    }
    if (group_sum != nullptr) {
      for (int64_t g = 0; g < num_groups; ++g) {
        int32_t sum = 0;
        for (int64_t k = group_start[g]; k < std::min(Kp, group_start[g + 1]); ++k) sum += o[k];
        group_sum[m * num_groups + g] = sum;
      }
    }
  }
}

}  // namespace incq::inc_cpu::gemm
