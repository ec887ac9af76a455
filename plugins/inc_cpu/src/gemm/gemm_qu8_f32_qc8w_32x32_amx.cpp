// s8 activations x u8 weight codes -> int32 -> fp32 GEMM tile on AMX (tdpbsud): 32 rows x one 32-column
// u8 quad panel. Each K
// group accumulates exactly in four int32 C tiles, which are then stored to an L1 buffer and scaled
// into fp32 with AVX-512 (same arithmetic as the VNNI kernel). The tile's K step is the largest of
// 64/32/16/8/4 bytes dividing the group, so any group that is a multiple of 4 works.
#include <immintrin.h>

#include "gemm/amx_tiles_amx.hpp"
#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {

void gemm_qu8_f32_qc8w_32x32_amx(const Qu8TileArgs& t) {
  // One tile configuration for the call: the largest K step dividing every group.
  int step = 64;
  for (int64_t g = 0; g < t.groups; ++g)
    while ((t.group_start[g + 1] - t.group_start[g]) % step != 0) step /= 2;
  amx_configure(step, step / 4);
  const bool two = t.mr > 16;
  const int rows = two ? 32 : 16;
  const ColumnMasks k(t.nr);
  alignas(64) int32_t acc[32 * 32];
  alignas(64) float f[32 * 32];
  for (int64_t g = 0; g < t.groups; ++g) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    const int64_t k0 = t.group_start[g], len = t.group_start[g + 1] - k0;
    const int8_t* a = t.a + k0;
    const uint8_t* b = t.b + k0 * 32;
    for (int64_t kk = 0; kk < len; kk += step) {
      _tile_loadd(6, b + kk * 32, 128);
      _tile_loadd(7, b + kk * 32 + 64, 128);
      _tile_loadd(4, a + kk, t.lda);
      _tile_dpbsud(0, 4, 6);
      _tile_dpbsud(1, 4, 7);
      if (two) {
        _tile_loadd(5, a + 16 * t.lda + kk, t.lda);
        _tile_dpbsud(2, 5, 6);
        _tile_dpbsud(3, 5, 7);
      }
    }
    _tile_stored(0, acc, 128);
    _tile_stored(1, acc + 16, 128);
    if (two) {
      _tile_stored(2, acc + 16 * 32, 128);
      _tile_stored(3, acc + 16 * 32 + 16, 128);
    }
    amx_memory_barrier();  // the tile stores into acc above, the AVX-512 reads below
    const float* ws = t.w_scale + g * t.ws_ld;
    const __m512 slo = _mm512_maskz_loadu_ps(k.lo, ws), shi = _mm512_maskz_loadu_ps(k.hi, ws + 16);
    __m512 zlo = _mm512_setzero_ps(), zhi = _mm512_setzero_ps();
    if (t.w_zero != nullptr) {
      const int32_t* wz = t.w_zero + g * t.ws_ld;
      zlo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k.lo, wz)), slo);
      zhi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k.hi, wz + 16)), shi);
    }
    for (int m = 0; m < rows; ++m) {
      __m512 xlo = _mm512_cvtepi32_ps(_mm512_load_si512(acc + m * 32));
      __m512 xhi = _mm512_cvtepi32_ps(_mm512_load_si512(acc + m * 32 + 16));
      if (g == 0) {
        xlo = _mm512_mul_ps(xlo, slo);
        xhi = _mm512_mul_ps(xhi, shi);
      } else {
        xlo = _mm512_fmadd_ps(xlo, slo, _mm512_load_ps(f + m * 32));
        xhi = _mm512_fmadd_ps(xhi, shi, _mm512_load_ps(f + m * 32 + 16));
      }
      if (t.w_zero != nullptr && m < t.mr) {
        const __m512 s = _mm512_set1_ps(float(t.a_group_sum[m * t.ld_group_sum + g]));
        xlo = _mm512_fnmadd_ps(s, zlo, xlo);
        xhi = _mm512_fnmadd_ps(s, zhi, xhi);
      }
      _mm512_store_ps(f + m * 32, xlo);
      _mm512_store_ps(f + m * 32 + 16, xhi);
    }
  }
  for (int64_t m = 0; m < t.mr; ++m) {
    const __m512 as = _mm512_set1_ps(t.a_scale[m]);
    store_row(t.c + m * t.ldc, k, _mm512_mul_ps(as, _mm512_load_ps(f + m * 32)),
              _mm512_mul_ps(as, _mm512_load_ps(f + m * 32 + 16)), t.accumulate);
  }
}

}  // namespace incq::inc_cpu::gemm
