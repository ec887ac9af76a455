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
  _tile_loadconfig(&cfg);
}

}  // namespace incq::inc_cpu::gemm

#endif
