// bf16 weight panels (int_panel.hpp (1)) from the internal integer layout with AVX512-BF16: rows
// decoded 16 columns at a time (int_panel_decode_avx512.hpp), two rows at a time rounded and
// interleaved into the panel's (k, k+1) pairs.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "int_fast/int_panel_decode_avx512.hpp"
#include "int_fast/int_panel_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// Rows r and r + 1 as the panel's pair dwords: bf16(r) in the low half, bf16(r + 1) in the high.
void store_pair(uint32_t* dst, __m512 lo, __m512 hi, __mmask16 lanes) {
  // cvtne2ps gives [16 x bf16(lo) | 16 x bf16(hi)]; interleave to (lo_j, hi_j) per dword j.
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
  _mm512_storeu_si512(dst, _mm512_maskz_mov_epi32(lanes, _mm512_permutexvar_epi16(idx, both)));
}

template <int B>
void strip_tiles(const IntPackedMatrix& w, int64_t strip, int64_t width, __mmask16 lanes, int64_t t0, int64_t t1,
                 int64_t k0, int64_t ld_dwords, uint32_t* out) {
  constexpr int kTile = static_cast<int>(tile_rows(B));
  const uint32_t* codes = w.strip_codes(strip);
  GroupCursor groups(w, strip, width, lanes, t0 * kTile);
  for (int64_t t = t0; t < t1; ++t) {
    const Factors& f = groups.at(t * kTile);
    const TileCodes<B> tc(codes, t, width, lanes);
    uint32_t* dst = out + (t * kTile - k0) / 2 * ld_dwords;
#pragma GCC unroll 16
    for (int i = 0; i < kTile; i += 2)
      store_pair(dst + i / 2 * ld_dwords, dequant(tc.row(i), f), dequant(tc.row(i + 1), f), lanes);
  }
}

}  // namespace

void produce_bf16_panel_avx512bf16(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                                   uint16_t* panel) {
  const int64_t pairs = (kc + 1) / 2;
  const int64_t k_end = std::min(k0 + kc, w.K_int);
  uint32_t* out = reinterpret_cast<uint32_t*>(panel);  // [pairs][nb] dwords
  // Rows past K_int (the GEMM's K padding) are zero.
  const int64_t first_zero_pair = std::max<int64_t>(0, (k_end - k0 + 1) / 2);
  if (first_zero_pair < pairs)
    std::memset(out + first_zero_pair * nb, 0, static_cast<size_t>((pairs - first_zero_pair) * nb) * 4);
  if (k_end <= k0) return;
  const int64_t t0 = k0 / w.k_tile, t1 = k_end / w.k_tile;
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) {
      for (int64_t p = 0; p < first_zero_pair; ++p) std::memset(out + p * nb + jb, 0, kStripWidth * 4);
      continue;
    }
    const int64_t width = w.strip_width(s);
    const __mmask16 lanes = static_cast<__mmask16>((1u << width) - 1u);
    switch (w.bits) {
      case 2: strip_tiles<2>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      case 3: strip_tiles<3>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      case 4: strip_tiles<4>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
      default: strip_tiles<8>(w, s, width, lanes, t0, t1, k0, nb, out + jb); break;
    }
  }
}

}  // namespace incq::inc_cpu::int_fast
