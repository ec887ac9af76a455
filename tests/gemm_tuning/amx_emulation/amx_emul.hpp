// Scalar stand-ins for the AMX tile intrinsics, force-included (-include) before the src/gemm *_amx.cpp
// files so that their control flow (tile configuration per thread, tile shapes, C parking, edges)
// can be checked against the differential tests on a machine without AMX. Not for speed, not CI.
// Tile state is per thread, as on hardware; a tile op without a loaded configuration, or with tile
// shapes that do not fit together, aborts.
#ifndef INCQ_GEMM_TUNING_AMX_EMUL_HPP
#define INCQ_GEMM_TUNING_AMX_EMUL_HPP

#include <immintrin.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace amx_emul {

struct Tile {
  int rows = 0, colsb = 0;
  alignas(64) unsigned char d[16][64];
};
inline thread_local Tile tiles[8];
inline thread_local bool configured = false;

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "amx_emul: %s\n", what);
  std::abort();
}
inline Tile& tile(int i) {
  if (!configured) fail("tile op without a loaded tile configuration");
  if (i < 0 || i > 7) fail("tile index");
  return tiles[i];
}
inline void loadconfig(const void* p) {
  const auto* c = static_cast<const uint8_t*>(p);
  if (c[0] != 1) fail("palette");
  for (int i = 0; i < 8; ++i) {
    uint16_t colsb;
    std::memcpy(&colsb, c + 16 + 2 * i, 2);
    tiles[i].colsb = colsb;
    tiles[i].rows = c[48 + i];
    if (colsb > 64 || tiles[i].rows > 16) fail("tile shape");
    std::memset(tiles[i].d, 0, sizeof tiles[i].d);
  }
  configured = true;
}
inline void release() { configured = false; }
inline void loadd(int i, const void* base, int64_t stride) {
  Tile& t = tile(i);
  std::memset(t.d, 0, sizeof t.d);
  for (int r = 0; r < t.rows; ++r) std::memcpy(t.d[r], static_cast<const char*>(base) + r * stride, t.colsb);
}
inline void stored(int i, void* base, int64_t stride) {
  Tile& t = tile(i);
  for (int r = 0; r < t.rows; ++r) std::memcpy(static_cast<char*>(base) + r * stride, t.d[r], t.colsb);
}
inline void zero(int i) { std::memset(tile(i).d, 0, sizeof tiles[0].d); }
inline void check_shapes(const Tile& c, const Tile& a, const Tile& b) {
  if (c.rows != a.rows || a.colsb / 4 != b.rows || c.colsb != b.colsb) fail("tile shapes do not fit together");
}
inline float bf16(const unsigned char* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline void dpbf16ps(int ci, int ai, int bi) {
  Tile &c = tile(ci), &a = tile(ai), &b = tile(bi);
  check_shapes(c, a, b);
  for (int m = 0; m < c.rows; ++m)
    for (int n = 0; n < c.colsb / 4; ++n) {
      float acc;
      std::memcpy(&acc, c.d[m] + 4 * n, 4);
      for (int p = 0; p < b.rows; ++p)
        acc += bf16(a.d[m] + 4 * p) * bf16(b.d[p] + 4 * n) + bf16(a.d[m] + 4 * p + 2) * bf16(b.d[p] + 4 * n + 2);
      std::memcpy(c.d[m] + 4 * n, &acc, 4);
    }
}
inline void dpbsud(int ci, int ai, int bi) {  // s8 (A) x u8 (B) -> int32
  Tile &c = tile(ci), &a = tile(ai), &b = tile(bi);
  check_shapes(c, a, b);
  for (int m = 0; m < c.rows; ++m)
    for (int n = 0; n < c.colsb / 4; ++n) {
      int32_t acc;
      std::memcpy(&acc, c.d[m] + 4 * n, 4);
      for (int p = 0; p < b.rows; ++p)
        for (int i = 0; i < 4; ++i) acc += int32_t(int8_t(a.d[m][4 * p + i])) * int32_t(b.d[p][4 * n + i]);
      std::memcpy(c.d[m] + 4 * n, &acc, 4);
    }
}

}  // namespace amx_emul

#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbf16ps
#undef _tile_dpbsud
#define _tile_loadd(dst, base, stride) amx_emul::loadd(dst, base, stride)
#define _tile_stored(src, base, stride) amx_emul::stored(src, base, stride)
#define _tile_zero(dst) amx_emul::zero(dst)
#define _tile_dpbf16ps(c, a, b) amx_emul::dpbf16ps(c, a, b)
#define _tile_dpbsud(c, a, b) amx_emul::dpbsud(c, a, b)
#define _tile_loadconfig(p) amx_emul::loadconfig(p)
#define _tile_release() amx_emul::release()

#endif
