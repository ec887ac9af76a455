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

// int8: A u8 = s8 activation code + 128, per-row scale a_scale; B s8 panel. For each group of
// `group` K rows inside [0, kc): acc = sum_k a_u8 * b (int32, exact), then
//   f += float(acc) * w_scale[g] - (w_zero_scale ? a_group_sum[m][g] * w_zero_scale[g] : 0)
// and at the end  C (+)= a_scale[m] * (f - (comp ? comp[n] : 0)).
// comp[n] = 128 * sum_g w_scale[g][n] * sum_{k in g} b[k][n] undoes the +128 shift of A;
// w_zero_scale[g][n] = w_scale * zero for weights stored as q with w = (q - zero) * scale.
// w_scale / w_zero_scale rows are `ws_group_stride` floats apart (0: one scale row for all of kc).
struct Qu8TileArgs {
  int64_t mr, nr, kc, group;
  const uint8_t* a;
  int64_t lda;
  const float* a_scale;      // [mr]
  const int32_t* a_group_sum;  // [mr][...] at this tile's first group, row stride ld_group_sum; or null
  int64_t ld_group_sum;
  const int8_t* b;           // panel at k0
  const float* w_scale;      // at (first group, n0)
  const float* w_zero_scale;  // same indexing as w_scale, or null (symmetric / zero folded into b)
  int64_t ws_group_stride;
  const float* comp;         // at n0, or null (then the shift is not undone: pass it exactly once)
  float* c;
  int64_t ldc;
  bool accumulate;
};
inline constexpr int64_t kQu8MaxRows = 6;
inline constexpr int64_t kQu8OneGroupMaxRows = 12;  // when kc == group: no fp32 accumulators needed
void gemm_qu8_f32_qc8w_6x32c4_avx512vnni(const Qu8TileArgs& t);

// AMX (tiles of 16 rows): bf16 and u8s8 variants for mr a multiple of 16 up to 32; both need the
// XTILEDATA permission (amx_request_permission()) and configure tiles themselves.
inline constexpr int64_t kAmxRows = 32;
void gemm_bf16_f32_32x32_amx(const Bf16TileArgs& t);
void gemm_qu8_f32_qc8w_32x32_amx(const Qu8TileArgs& t);

}  // namespace incq::inc_cpu::gemm

#endif
