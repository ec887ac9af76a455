// Activation preparation, AVX-512: per-token int8 quantization bit-exact with the scalar contract
// of act_quant_int8.hpp (docs/formats.md §3 INT: a = max|x|, s = fp32(a / 127),
// q = clamp(RNE(fp32(x / s)), -128, 127)) — vdivps is correctly rounded like the scalar division and
// vrndscaleps with RNE is nearbyint — and bf16 rounding (RNE) of fp32 rows. Serial row preparation
// was a visible share of a decode call at 16 threads (K = 14336: ~70 us scalar).
#include <immintrin.h>

#include "int_fast/int_kernels.hpp"

namespace incq::inc_cpu::int_fast {

float quantize_row_int8_avx512(const float* x, int64_t K, int8_t* q) {
  __m512 vmax = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
  if (k < K) {
    const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1u);
    vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_maskz_loadu_ps(m, x + k)));
  }
  const float a = _mm512_reduce_max_ps(vmax);
  const float s = a / 127.0f;
  if (s == 0.0f) {
    for (int64_t i = 0; i < K; ++i) q[i] = 0;
    return s;
  }
  const __m512 vs = _mm512_set1_ps(s), lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
  for (k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    __m512 r = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + k), vs),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_min_ps(hi, _mm512_max_ps(lo, r));
    _mm_mask_storeu_epi8(q + k, m, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(r)));
  }
  return s;
}

void round_row_bf16_avx512(float* x, int64_t K) {
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    const __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + k));
    // RNE to the top 16 bits (NaN is not expected here; a NaN stays a NaN: its payload's top bits
    // survive and the exponent field is all ones either way).
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(v, 16), _mm512_set1_epi32(1));
    const __m512i r = _mm512_add_epi32(v, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
    const __m512i out = _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
    _mm512_mask_storeu_ps(x + k, m, _mm512_castsi512_ps(out));
  }
}

void bf16_to_f32_row_avx512(const uint16_t* in, int64_t K, float* out) {
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, in + k));
    _mm512_mask_storeu_ps(out + k, m, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
  }
}

void f16_to_f32_row_avx512(const uint16_t* in, int64_t K, float* out) {
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    _mm512_mask_storeu_ps(out + k, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, in + k)));
  }
}

}  // namespace incq::inc_cpu::int_fast
