// s8 activations x u8 weight codes -> int32 -> fp32 GEMM tile with vpdpbusd (its unsigned operand is
// the weight panel, the signed one the broadcast activation quad). Integer sums are exact inside a K
// group; each group then enters fp32 accumulators as (acc - zero * sum(a)) * scale; the per-row
// activation scale is applied once at the end. With several groups the tile keeps 2*MR int32 + 2*MR
// fp32 accumulators (MR <= 6); with one group per call (per-channel scales) MR goes to 12.
#include <immintrin.h>

#include <cstring>

#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

inline __m512i broadcast_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int MR>
inline void dot_group(const int8_t* a, int64_t lda, const uint8_t* b, int64_t quads, __m512i* ilo,
                      __m512i* ihi) {
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) ilo[m] = ihi[m] = _mm512_setzero_si512();
  for (int64_t q = 0; q < quads; ++q, b += 128, a += 4) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512i av = broadcast_quad(a + m * lda);
      ilo[m] = _mm512_dpbusd_epi32(ilo[m], b0, av);
      ihi[m] = _mm512_dpbusd_epi32(ihi[m], b1, av);
    }
  }
}

template <int MR, bool kOneGroup>
void tile(const Qu8TileArgs& t) {
  const ColumnMasks k(t.nr);
  __m512 flo[MR] = {}, fhi[MR] = {};
  __m512i ilo[MR], ihi[MR];
  const int64_t groups = kOneGroup ? 1 : t.groups;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t k0 = t.group_start[g];
    dot_group<MR>(t.a + k0, t.lda, t.b + k0 * 32, (t.group_start[g + 1] - k0) / 4, ilo, ihi);
    const float* ws = t.w_scale + g * t.ws_ld;
    const __m512 slo = _mm512_maskz_loadu_ps(k.lo, ws), shi = _mm512_maskz_loadu_ps(k.hi, ws + 16);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      flo[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ilo[m]), slo, flo[m]);
      fhi[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ihi[m]), shi, fhi[m]);
    }
    if (t.w_zero != nullptr) {
      const int32_t* wz = t.w_zero + g * t.ws_ld;
      // zero * scale per column, shared by all rows of the tile.
      const __m512 zlo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k.lo, wz)), slo);
      const __m512 zhi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k.hi, wz + 16)), shi);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        const __m512 s = _mm512_set1_ps(float(t.a_group_sum[m * t.ld_group_sum + g]));
        flo[m] = _mm512_fnmadd_ps(s, zlo, flo[m]);
        fhi[m] = _mm512_fnmadd_ps(s, zhi, fhi[m]);
      }
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    const __m512 as = _mm512_set1_ps(t.a_scale[m]);
    store_row(t.c + m * t.ldc, k, _mm512_mul_ps(as, flo[m]), _mm512_mul_ps(as, fhi[m]), t.accumulate);
  }
}

template <bool kOneGroup>
void dispatch(const Qu8TileArgs& t) {
  switch (t.mr) {
    case 1: return tile<1, kOneGroup>(t);
    case 2: return tile<2, kOneGroup>(t);
    case 3: return tile<3, kOneGroup>(t);
    case 4: return tile<4, kOneGroup>(t);
    case 5: return tile<5, kOneGroup>(t);
    default: break;
  }
  if constexpr (kOneGroup) {
    switch (t.mr) {
      case 6: return tile<6, true>(t);
      case 7: return tile<7, true>(t);
      case 8: return tile<8, true>(t);
      case 9: return tile<9, true>(t);
      case 10: return tile<10, true>(t);
      case 11: return tile<11, true>(t);
      default: return tile<12, true>(t);
    }
  } else {
    return tile<6, false>(t);
  }
}

}  // namespace

void gemm_qu8_f32_qc8w_6x32c4_avx512vnni(const Qu8TileArgs& t) {
  if (t.groups == 1) return dispatch<true>(t);
  return dispatch<false>(t);
}

}  // namespace incq::inc_cpu::gemm
