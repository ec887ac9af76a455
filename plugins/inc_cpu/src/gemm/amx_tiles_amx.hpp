// AMX tile configuration shared by the AMX GEMM kernels (include only from *_amx.cpp files).
// Tiles 0-3: C (16 rows x 16 fp32/int32, two rows of blocks x two panel halves), 4-5: A (16 rows x
// `a_bytes`), 6-7: B (`b_rows` rows x 64 bytes, i.e. 16 columns x one pair / quad per row).
#ifndef INCQ_INC_CPU_GEMM_AMX_TILES_AMX_HPP
#define INCQ_INC_CPU_GEMM_AMX_TILES_AMX_HPP

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace incq::inc_cpu::gemm {

struct alignas(64) AmxTileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Loads a tile configuration. Not GCC 12's _tile_loadconfig: its asm declares only 8 bytes of the
// 64-byte config as read ("m"(*(const void**)p)), so the compiler may drop the stores of the tile
// shapes as dead; it did in amx_bf16_block_begin (objdump: only the palette byte and a zeroed
// block reached ldtilecfg), every tile then had 0 rows and the first tile op raised #UD = SIGILL on
// the Sapphire Rapids host. Here the whole struct is the asm's input.
inline void amx_load_config(const AmxTileConfig& cfg) {
#ifdef _tile_loadconfig  // tests/gemm_tuning/amx_emulation replaces the intrinsics by macros
  _tile_loadconfig(&cfg);
#else
  __asm__ volatile("ldtilecfg %0" ::"m"(cfg));
#endif
}

// The tile load/store intrinsics are asm without memory operands: the compiler does not know they
// read or write memory. A compiler barrier between C++ stores and tile loads of the same bytes, and
// between tile stores and C++ reads of them, keeps it from reordering or forwarding across them.
inline void amx_memory_barrier() { __asm__ volatile("" ::: "memory"); }

inline void amx_configure(int a_bytes, int b_rows) {
  AmxTileConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int i = 0; i < 4; ++i) {
    cfg.colsb[i] = 64;
    cfg.rows[i] = 16;
  }
  for (int i = 4; i < 6; ++i) {
    cfg.colsb[i] = uint16_t(a_bytes);
    cfg.rows[i] = 16;
  }
  for (int i = 6; i < 8; ++i) {
    cfg.colsb[i] = 64;
    cfg.rows[i] = uint8_t(b_rows);
  }
  amx_load_config(cfg);
  amx_memory_barrier();
}

}  // namespace incq::inc_cpu::gemm

#endif
