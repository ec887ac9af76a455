// bf16 x bf16 -> fp32 GEMM tile on AMX: 32 rows x one 32-column panel as four 16x16 fp32 C tiles.
// The bf16 pair panel already is the AMX B layout (16 columns x one K pair = 64 bytes per row), read
// at a 128-byte stride for the panel's two 16-column halves. Edge panels (nr < 32) go through a
// local buffer so C is never written past column nr.
#include <immintrin.h>

#include "gemm/amx_tiles_amx.hpp"
#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {

void gemm_bf16_f32_32x32_amx(const Bf16TileArgs& t) {
  constexpr int kStep = 32;  // bf16 per A tile row
  amx_configure(kStep * 2, kStep / 2);
  const bool two = t.mr > 16;
  const bool direct = t.nr == 32;
  alignas(64) float buf[32 * 32];
  float* c = direct ? t.c : buf;
  const int64_t ldc_bytes = (direct ? t.ldc : 32) * 4;
  if (t.accumulate && !direct) {
    const ColumnMasks k(t.nr);
    for (int64_t m = 0; m < t.mr; ++m) {
      _mm512_store_ps(buf + m * 32, _mm512_maskz_loadu_ps(k.lo, t.c + m * t.ldc));
      _mm512_store_ps(buf + m * 32 + 16, _mm512_maskz_loadu_ps(k.hi, t.c + m * t.ldc + 16));
    }
  }
  amx_memory_barrier();  // buf / C stores above, tile loads below
  if (t.accumulate) {
    _tile_loadd(0, c, ldc_bytes);
    _tile_loadd(1, c + 16, ldc_bytes);
    if (two) {
      _tile_loadd(2, c + 16 * (ldc_bytes / 4), ldc_bytes);
      _tile_loadd(3, c + 16 * (ldc_bytes / 4) + 16, ldc_bytes);
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  const int64_t lda_bytes = t.lda * 2;
  for (int64_t k = 0; k < t.kc; k += kStep) {
    const uint16_t* b = t.b + k * 32;
    _tile_loadd(6, b, 128);
    _tile_loadd(7, b + 32, 128);
    _tile_loadd(4, t.a + k, lda_bytes);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (two) {
      _tile_loadd(5, t.a + 16 * t.lda + k, lda_bytes);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, c, ldc_bytes);
  _tile_stored(1, c + 16, ldc_bytes);
  if (two) {
    _tile_stored(2, c + 16 * (ldc_bytes / 4), ldc_bytes);
    _tile_stored(3, c + 16 * (ldc_bytes / 4) + 16, ldc_bytes);
  }
  amx_memory_barrier();  // tile stores above, C++ reads of buf / C after
  if (!direct) {
    const ColumnMasks k(t.nr);
    for (int64_t m = 0; m < t.mr; ++m) store_row(t.c + m * t.ldc, k, _mm512_load_ps(buf + m * 32),
                                                 _mm512_load_ps(buf + m * 32 + 16), false);
  }
}

}  // namespace incq::inc_cpu::gemm
