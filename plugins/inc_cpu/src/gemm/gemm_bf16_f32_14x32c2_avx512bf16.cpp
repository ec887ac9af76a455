// bf16 x bf16 -> fp32 GEMM tile with vdpbf16ps: up to 14 rows x 32 columns held in 28 zmm
// accumulators; per K pair two panel loads feed 2*MR dot products whose A operand is an embedded
// 32-bit broadcast, so loads stay below the two-FMA-per-cycle rate.
#include <immintrin.h>

#include <cstring>

#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

inline __m512bh broadcast_pair(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return (__m512bh)_mm512_set1_epi32(v);
}

template <int MR>
void tile(const Bf16TileArgs& t) {
  __m512 lo[MR], hi[MR];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) lo[m] = hi[m] = _mm512_setzero_ps();
  const uint16_t* a = t.a;
  const uint16_t* b = t.b;
  const int64_t lda = t.lda;
  for (int64_t p = 0; p < t.kc / 2; ++p, b += 64, a += 2) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 32);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512bh av = broadcast_pair(a + m * lda);
      lo[m] = _mm512_dpbf16_ps(lo[m], av, b0);
      hi[m] = _mm512_dpbf16_ps(hi[m], av, b1);
    }
  }
  const ColumnMasks k(t.nr);
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) store_row(t.c + m * t.ldc, k, lo[m], hi[m], t.accumulate);
}

}  // namespace

void gemm_bf16_f32_14x32c2_avx512bf16(const Bf16TileArgs& t) {
  switch (t.mr) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    case 4: return tile<4>(t);
    case 5: return tile<5>(t);
    case 6: return tile<6>(t);
    case 7: return tile<7>(t);
    case 8: return tile<8>(t);
    case 9: return tile<9>(t);
    case 10: return tile<10>(t);
    case 11: return tile<11>(t);
    case 12: return tile<12>(t);
    case 13: return tile<13>(t);
    default: return tile<14>(t);
  }
}

}  // namespace incq::inc_cpu::gemm
