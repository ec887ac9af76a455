// AMX bf16 block kernel (see gemm_ukernels.hpp, Bf16AmxBlockArgs): one tile configuration per work
// item, A chunk reused from L1 over all panels of the block, C tiles parked in a contiguous buffer.
// Tiles: 0-3 C (rows 0-15 / 16-31 x columns 0-15 / 16-31), 4-5 A, 6-7 B (as amx_tiles_amx.hpp).
#include <immintrin.h>

#include <algorithm>

#include "gemm/amx_tiles_amx.hpp"
#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

constexpr int kStep = 32;  // bf16 per A tile row

template <bool kTwo>
void run_chunks(const Bf16AmxBlockArgs& t) {
  const int64_t lda_bytes = t.lda * 2;
  for (int64_t k1 = 0; k1 < t.kc; k1 += t.kc_inner) {
    const int64_t k2 = std::min(t.kc, k1 + t.kc_inner);
    for (int64_t j = 0; j < t.panels; ++j) {
      float* acc = t.acc + j * 1024;
      if (k1 == 0) {
        _tile_zero(0);
        _tile_zero(1);
        if (kTwo) {
          _tile_zero(2);
          _tile_zero(3);
        }
      } else {
        _tile_loadd(0, acc, 128);
        _tile_loadd(1, acc + 16, 128);
        if (kTwo) {
          _tile_loadd(2, acc + 512, 128);
          _tile_loadd(3, acc + 528, 128);
        }
      }
      const uint16_t* b = t.b + j * t.panel_stride;
      for (int64_t k = k1; k < k2; k += kStep) {
        _tile_loadd(6, b + k * 32, 128);
        _tile_loadd(7, b + k * 32 + 32, 128);
        _tile_loadd(4, t.a + k, lda_bytes);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        if (kTwo) {
          _tile_loadd(5, t.a + 16 * t.lda + k, lda_bytes);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
      }
      _tile_stored(0, acc, 128);
      _tile_stored(1, acc + 16, 128);
      if (kTwo) {
        _tile_stored(2, acc + 512, 128);
        _tile_stored(3, acc + 528, 128);
      }
    }
  }
}

}  // namespace

void amx_bf16_block_begin() { amx_configure(kStep * 2, kStep / 2); }
void amx_bf16_block_end() { _tile_release(); }

void gemm_bf16_f32_32xnc_amx_block(const Bf16AmxBlockArgs& t) {
  if (t.mr > 16) {
    run_chunks<true>(t);
  } else {
    run_chunks<false>(t);
  }
  amx_memory_barrier();  // the tile stores into acc above, the AVX-512 reads below
  for (int64_t j = 0; j < t.panels && j * 32 < t.n_valid; ++j) {
    const ColumnMasks k(std::min<int64_t>(32, t.n_valid - j * 32));
    const float* acc = t.acc + j * 1024;
    float* c = t.c + j * 32;
    for (int64_t m = 0; m < t.mr; ++m)
      store_row(c + m * t.ldc, k, _mm512_load_ps(acc + m * 32), _mm512_load_ps(acc + m * 32 + 16), t.add);
  }
}

}  // namespace incq::inc_cpu::gemm
