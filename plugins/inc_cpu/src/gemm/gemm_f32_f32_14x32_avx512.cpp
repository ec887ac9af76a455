// fp32 x fp32 -> fp32 GEMM tile with FMA: up to 14 rows x 32 columns in 28 zmm accumulators; per K
// row two panel loads feed 2*MR FMAs whose A operand is an embedded 32-bit broadcast. The bf16
// compute mode uses it on AVX-512 machines without AMX, with the exact fp32 weights s*(q-z) and the
// (bf16-exact) activations: where vdpbf16ps is no faster than two FMA ports (measured on the dev
// machine, whose oneDNN f32 matmul also beats its bf16 one), this skips the bf16 rounding of the
// weights and the bf16 preparation of the activations.
#include <immintrin.h>

#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

template <int MR>
void tile(const F32TileArgs& t) {
  __m512 lo[MR], hi[MR];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) lo[m] = hi[m] = _mm512_setzero_ps();
  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  for (int64_t k = 0; k < t.kc; ++k, b += 32, ++a) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512 av = _mm512_set1_ps(a[m * lda]);
      lo[m] = _mm512_fmadd_ps(av, b0, lo[m]);
      hi[m] = _mm512_fmadd_ps(av, b1, hi[m]);
    }
  }
  const ColumnMasks k(t.nr);
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) store_row(t.c + m * t.ldc, k, lo[m], hi[m], t.accumulate);
}

}  // namespace

void gemm_f32_f32_14x32_avx512(const F32TileArgs& t) {
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
