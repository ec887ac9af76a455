// Fallback for AVX-512F CPUs without AVX512-BF16: the same bf16 pair panels widened to fp32 in
// registers (a bf16 is the high half of an fp32, so widening is a shift or a mask) and FMAs.
#include <immintrin.h>

#include <cstring>

#include "gemm/gemm_ukernels.hpp"
#include "gemm/tile_store_avx512.hpp"

namespace incq::inc_cpu::gemm {
namespace {

inline __m512 even_half(__m512i pairs) { return _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16)); }
inline __m512 odd_half(__m512i pairs) {
  return _mm512_castsi512_ps(_mm512_and_si512(pairs, _mm512_set1_epi32(int32_t(0xFFFF0000u))));
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
    const __m512i p0 = _mm512_loadu_si512(b);
    const __m512i p1 = _mm512_loadu_si512(b + 32);
    const __m512 b0e = even_half(p0), b0o = odd_half(p0), b1e = even_half(p1), b1o = odd_half(p1);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      uint32_t pair;
      std::memcpy(&pair, a + m * lda, 4);
      const uint32_t ev = pair << 16, od = pair & 0xFFFF0000u;
      float fe, fo;
      std::memcpy(&fe, &ev, 4);
      std::memcpy(&fo, &od, 4);
      const __m512 ae = _mm512_set1_ps(fe), ao = _mm512_set1_ps(fo);
      lo[m] = _mm512_fmadd_ps(ae, b0e, lo[m]);
      hi[m] = _mm512_fmadd_ps(ae, b1e, hi[m]);
      lo[m] = _mm512_fmadd_ps(ao, b0o, lo[m]);
      hi[m] = _mm512_fmadd_ps(ao, b1o, hi[m]);
    }
  }
  const ColumnMasks k(t.nr);
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) store_row(t.c + m * t.ldc, k, lo[m], hi[m], t.accumulate);
}

}  // namespace

void gemm_bf16_f32_12x32c2_avx512(const Bf16TileArgs& t) {
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
    default: return tile<12>(t);
  }
}

}  // namespace incq::inc_cpu::gemm
