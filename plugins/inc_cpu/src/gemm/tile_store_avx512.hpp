// Masked store of a row of up to 32 fp32 results (two zmm) into C, optionally adding C's old values.
// Header-only, for inclusion by AVX-512 kernel files only.
#ifndef INCQ_INC_CPU_GEMM_TILE_STORE_AVX512_HPP
#define INCQ_INC_CPU_GEMM_TILE_STORE_AVX512_HPP

#include <immintrin.h>

#include <cstdint>

namespace incq::inc_cpu::gemm {

struct ColumnMasks {
  __mmask16 lo, hi;
  explicit ColumnMasks(int64_t nr)
      : lo(nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1)),
        hi(nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0)) {}
};

inline void store_row(float* c, const ColumnMasks& k, __m512 lo, __m512 hi, bool accumulate) {
  if (accumulate) {
    lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(k.lo, c));
    hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(k.hi, c + 16));
  }
  _mm512_mask_storeu_ps(c, k.lo, lo);
  _mm512_mask_storeu_ps(c + 16, k.hi, hi);
}

}  // namespace incq::inc_cpu::gemm

#endif
