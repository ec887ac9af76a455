// Microkernel entry points of the prefill GEMMs. Each computes one tile of up to `mr` rows x one
// 32-column panel (nr <= 32 of its columns are stored) over a run of K, on the ISA its file name says.
// Callers (gemm_driver.cpp, tests) pick one by the detected ISA; kernels never pick themselves.
//
// A rows are padded to the panel's K multiple (zeros for bf16, the u8 code 128 = value 0 for int8),
// so a kernel never reads a ragged K tail.
#ifndef INCQ_INC_CPU_GEMM_UKERNELS_HPP
#define INCQ_INC_CPU_GEMM_UKERNELS_HPP

#include <cstdint>

namespace incq::inc_cpu::gemm {

// C[mr x nr] (+)= A[mr x kc] . B-panel[kc x 32]; A bf16 with row stride lda (elements), kc even.
// `accumulate` false overwrites C. mr <= the kernel's max rows (kBf16MaxRows / kF32FallbackMaxRows).
struct Bf16TileArgs {
  int64_t mr, nr, kc;
  const uint16_t* a;
  int64_t lda;
  const uint16_t* b;  // panel at k0
  float* c;
  int64_t ldc;
  bool accumulate;
};
inline constexpr int64_t kBf16MaxRows = 14;
inline constexpr int64_t kF32FallbackMaxRows = 12;
void gemm_bf16_f32_14x32c2_avx512bf16(const Bf16TileArgs& t);
void gemm_bf16_f32_12x32c2_avx512(const Bf16TileArgs& t);  // fp32 FMA on widened bf16 (no BF16 ISA)

// C[mr x nr] (+)= A[mr x kc] . B-panel[kc x 32]; A fp32 with row stride lda, B an fp32 panel
// ([k][32] floats, panel_layout.hpp f32_panel_offset). mr <= kF32MaxRows.
struct F32TileArgs {
  int64_t mr, nr, kc;
  const float* a;
  int64_t lda;
  const float* b;  // panel at k0
  float* c;
  int64_t ldc;
  bool accumulate;
};
inline constexpr int64_t kF32MaxRows = 14;
void gemm_f32_f32_14x32_avx512(const F32TileArgs& t);

// int8: A = signed activation codes (s8, per-row scale a_scale), B = unsigned weight codes (u8
// panel, w = scale * (q - zero) per group and column). For each of `groups` consecutive K groups
// (rows [group_start[i], group_start[i+1]) relative to the call's first row, multiples of 4):
//   acc = sum_k a * q  (int32, exact),  f += (float(acc) - zero * a_group_sum[m][i]) * scale[i]
// and at the end C (+)= a_scale[m] * f. With one group the fp32 set of accumulators is not needed.
struct Qu8TileArgs {
  int64_t mr, nr;
  int64_t groups;
  const int64_t* group_start;  // [groups + 1], group_start[0] == 0
  const int8_t* a;
  int64_t lda;
  const float* a_scale;        // [mr]
  const int32_t* a_group_sum;  // [mr][...] at this call's first group, row stride ld_group_sum
  int64_t ld_group_sum;        // (only read when w_zero is non-null)
  const uint8_t* b;            // panel at the first group's first row
  const float* w_scale;        // [groups][ws_ld] at column n0
  const int32_t* w_zero;       // same indexing, or null
  int64_t ws_ld;
  float* c;
  int64_t ldc;
  bool accumulate;
};
inline constexpr int64_t kQu8MaxRows = 6;
inline constexpr int64_t kQu8OneGroupMaxRows = 12;
void gemm_qu8_f32_qc8w_6x32c4_avx512vnni(const Qu8TileArgs& t);

// AMX (tiles of 16 rows): bf16 and u8s8 variants for mr a multiple of 16 up to 32; both need the
// XTILEDATA permission (amx_request_permission()) and configure tiles themselves.
inline constexpr int64_t kAmxRows = 32;
void gemm_bf16_f32_32x32_amx(const Bf16TileArgs& t);
void gemm_qu8_f32_qc8w_32x32_amx(const Qu8TileArgs& t);

// AMX bf16 over a whole column block for one tile of mr (16 or 32) rows, for the blocked driver.
// The tile configuration is the caller's: amx_bf16_block_begin() before the calls of a K step (a
// tile config load costs about as much as a few tile multiplies), amx_bf16_block_end() when done.
// K [0, kc) runs in chunks of kc_inner: per chunk the A rows' chunk (mr x kc_inner bf16) stays in L1
// while every panel of the block streams past it; each panel's four C tiles live across the chunk
// and are parked between chunks in `acc` ([panels][32][32] fp32, 128-byte rows: contiguous, so no
// 4 KiB set aliasing as C rows at ldc = 4096 floats would have). At the end the block is written
// to C (masked to n_valid columns), added to C's old values when `add`.
struct Bf16AmxBlockArgs {
  int64_t mr;
  int64_t panels;
  int64_t kc, kc_inner;  // multiples of 32
  const uint16_t* a;     // row 0 at k0
  int64_t lda;
  const uint16_t* b;     // panel 0 at k0
  int64_t panel_stride;  // uint16 elements from panel j to panel j + 1
  float* acc;            // [panels][32][32], 64-byte aligned
  float* c;
  int64_t ldc;
  int64_t n_valid;  // columns of the block inside N
  bool add;
};
void amx_bf16_block_begin();
void amx_bf16_block_end();
void gemm_bf16_f32_32xnc_amx_block(const Bf16AmxBlockArgs& t);

}  // namespace incq::inc_cpu::gemm

#endif
