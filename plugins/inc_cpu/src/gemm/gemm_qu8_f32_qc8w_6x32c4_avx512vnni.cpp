// u8 x s8 -> int32 -> fp32 GEMM tile with vpdpbusd. Integer sums are exact inside a K group; each
// group is then scaled by its per-column weight scale into fp32 accumulators (the per-row activation
// scale is applied once at the end, it does not depend on the group). With groups, the tile keeps
// 2*MR int32 + 2*MR fp32 accumulators (MR <= 6); with one group per call (per-channel scales, or
// kc == group) the fp32 set is not needed and MR goes to 12.
#include <immintrin.h>

#include <cstring>

#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

inline __m512i broadcast_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int MR>
inline void dot_group(const uint8_t* a, int64_t lda, const int8_t* b, int64_t quads, __m512i* ilo,
                      __m512i* ihi) {
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) ilo[m] = ihi[m] = _mm512_setzero_si512();
  for (int64_t q = 0; q < quads; ++q, b += 128, a += 4) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512i av = broadcast_quad(a + m * lda);
      ilo[m] = _mm512_dpbusd_epi32(ilo[m], av, b0);
      ihi[m] = _mm512_dpbusd_epi32(ihi[m], av, b1);
    }
  }
}

template <int MR, bool kOneGroup>
void tile(const Qu8TileArgs& t) {
  const ColumnMasks k(t.nr);
  __m512 flo[MR] = {}, fhi[MR] = {};
  __m512i ilo[MR], ihi[MR];
  const int64_t groups = kOneGroup ? 1 : t.kc / t.group;
  const int64_t quads = (kOneGroup ? t.kc : t.group) / 4;
  for (int64_t g = 0; g < groups; ++g) {
    dot_group<MR>(t.a + g * t.group, t.lda, t.b + g * t.group * 32, quads, ilo, ihi);
    const float* ws = t.w_scale + g * t.ws_group_stride;
    const __m512 slo = _mm512_maskz_loadu_ps(k.lo, ws), shi = _mm512_maskz_loadu_ps(k.hi, ws + 16);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512 xlo = _mm512_cvtepi32_ps(ilo[m]), xhi = _mm512_cvtepi32_ps(ihi[m]);
      if (kOneGroup || g == 0) {
        flo[m] = _mm512_mul_ps(xlo, slo);
        fhi[m] = _mm512_mul_ps(xhi, shi);
      } else {
        flo[m] = _mm512_fmadd_ps(xlo, slo, flo[m]);
        fhi[m] = _mm512_fmadd_ps(xhi, shi, fhi[m]);
      }
    }
    if (t.w_zero_scale != nullptr) {
      const float* wz = t.w_zero_scale + g * t.ws_group_stride;
      const __m512 zlo = _mm512_maskz_loadu_ps(k.lo, wz), zhi = _mm512_maskz_loadu_ps(k.hi, wz + 16);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        const __m512 s = _mm512_set1_ps(float(t.a_group_sum[m * t.ld_group_sum + g]));
        flo[m] = _mm512_fnmadd_ps(s, zlo, flo[m]);
        fhi[m] = _mm512_fnmadd_ps(s, zhi, fhi[m]);
      }
    }
  }
  __m512 clo = _mm512_setzero_ps(), chi = _mm512_setzero_ps();
  if (t.comp != nullptr) {
    clo = _mm512_maskz_loadu_ps(k.lo, t.comp);
    chi = _mm512_maskz_loadu_ps(k.hi, t.comp + 16);
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    const __m512 as = _mm512_set1_ps(t.a_scale[m]);
    store_row(t.c + m * t.ldc, k, _mm512_mul_ps(as, _mm512_sub_ps(flo[m], clo)),
              _mm512_mul_ps(as, _mm512_sub_ps(fhi[m], chi)), t.accumulate);
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
  if (t.kc == t.group) return dispatch<true>(t);
  return dispatch<false>(t);
}

}  // namespace incq::inc_cpu::gemm
