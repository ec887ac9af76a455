// fp32 weight panels (int_panel.hpp (3)) from the internal integer layout with AVX-512: rows decoded
// 16 columns at a time (int_panel_decode_avx512.hpp) and stored as they are.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "int_fast/int_panel_decode_avx512.hpp"
#include "int_fast/int_panel_kernels.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

template <int B>
void strip_tiles(const IntPackedMatrix& w, int64_t strip, int64_t width, __mmask16 lanes, int64_t t0, int64_t t1,
                 int64_t k0, int64_t ld, float* out) {
  constexpr int kTile = static_cast<int>(tile_rows(B));
  const uint32_t* codes = w.strip_codes(strip);
  GroupCursor groups(w, strip, width, lanes, t0 * kTile);
  for (int64_t t = t0; t < t1; ++t) {
    const Factors& f = groups.at(t * kTile);
    const TileCodes<B> tc(codes, t, width, lanes);
    float* dst = out + (t * kTile - k0) * ld;
#pragma GCC unroll 32
    for (int i = 0; i < kTile; ++i) _mm512_storeu_ps(dst + i * ld, _mm512_maskz_mov_ps(lanes, dequant(tc.row(i), f)));
  }
}

}  // namespace

void produce_f32_panel_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, float* panel) {
  const int64_t k_end = std::min(k0 + kc, w.K_int);
  const int64_t rows = std::max<int64_t>(0, k_end - k0);
  // Rows past K_int are zero.
  if (rows < kc) std::memset(panel + rows * nb, 0, static_cast<size_t>((kc - rows) * nb) * sizeof(float));
  if (rows == 0) return;
  const int64_t t0 = k0 / w.k_tile, t1 = k_end / w.k_tile;
  for (int64_t jb = 0; jb < nb; jb += kStripWidth) {
    const int64_t s = (n0 + jb) / kStripWidth;
    if (s >= w.num_strips()) {
      for (int64_t k = 0; k < rows; ++k) _mm512_storeu_ps(panel + k * nb + jb, _mm512_setzero_ps());
      continue;
    }
    const int64_t width = w.strip_width(s);
    const __mmask16 lanes = static_cast<__mmask16>((1u << width) - 1u);
    switch (w.bits) {
      case 2: strip_tiles<2>(w, s, width, lanes, t0, t1, k0, nb, panel + jb); break;
      case 3: strip_tiles<3>(w, s, width, lanes, t0, t1, k0, nb, panel + jb); break;
      case 4: strip_tiles<4>(w, s, width, lanes, t0, t1, k0, nb, panel + jb); break;
      default: strip_tiles<8>(w, s, width, lanes, t0, t1, k0, nb, panel + jb); break;
    }
  }
}

}  // namespace incq::inc_cpu::int_fast
