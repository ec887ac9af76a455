// Blocked, multi-threaded prefill GEMMs over weight panels (panel_layout.hpp):
//   C[M][N] (+)= A[M][K] . W^T,  W given as panels by a PanelSource (resident or decoded per block).
// Threads go through the caller's incq_exec (never more than max_threads work items at once, one
// scratch slot each); nothing is allocated: the caller passes scratch of *_scratch_bytes() bytes.
//
// Blocking: each work item owns a range of (column block of nc, row block) pairs; per K step it
// fetches the nc x kc panel block once (decoding it if the source decodes) and runs every row tile of
// its row block over it, so a decoded block is reused by all M rows while it sits in L2.
// AMX bf16 runs each 32-row tile over the whole column block at once (gemm_bf16_f32_32xnc_amx_block:
// A chunk in L1 reused by all panels, C tiles parked in a contiguous per-item buffer, one tile
// configuration per K step); its rows per block can be set (blocking.mc), else M is split only when
// the column blocks are fewer than the threads.
#ifndef INCQ_INC_CPU_GEMM_DRIVER_HPP
#define INCQ_INC_CPU_GEMM_DRIVER_HPP

#include <cstddef>
#include <cstdint>

#include "gemm/panel_layout.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_cpu::gemm {

enum class GemmTier { kNone, kAvx512Fp32, kAvx512Bf16, kAvx512Vnni, kAmx };
const char* gemm_tier_name(GemmTier t);

// Fastest tier this CPU runs (AMX only once the XTILEDATA permission was granted).
GemmTier best_bf16_tier();
GemmTier best_int8_tier();

struct GemmBlocking {
  int64_t nc = 0;  // columns per block (multiple of 32); 0 = chosen from the shape and threads
  int64_t kc = 0;  // K per step (multiple of 32 for bf16; whole groups for int8); 0 = default
  int64_t mc = 0;  // rows per block (AMX bf16 only; multiple of 32); 0 = chosen from the shape and threads
  int64_t kc_inner = 0;  // AMX bf16: K chunk kept in L1 inside a K step (multiple of 32); 0 = default
};

// Row stride (elements) to give prepared activation rows of Kp elements of elem_bytes each: a byte
// stride that is a multiple of 2 KiB puts the rows of a tile into the same L1 set (14-16 rows > 12
// ways), so such strides get one extra cache line.
int64_t activation_row_stride(int64_t Kp, int64_t elem_bytes);

struct Bf16Gemm {
  int64_t M = 0, N = 0, K = 0;
  const uint16_t* a = nullptr;  // [M][lda], from prepare_a_bf16_* (K..bf16_padded_k(K) zero)
  int64_t lda = 0;              // 0: bf16_padded_k(K); best activation_row_stride(bf16_padded_k(K), 2)
  PanelSource b{};              // bf16 panels of padded K bf16_padded_k(K)
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;  // false: C = A.W^T; true: C += A.W^T (e.g. C pre-filled with the bias)
  GemmTier tier = GemmTier::kNone;  // kAmx, kAvx512Bf16 or kAvx512Fp32
  GemmBlocking blocking{};
};
size_t gemm_bf16_scratch_bytes(const Bf16Gemm& g, int threads);
void gemm_bf16_f32(const Bf16Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes);

// fp32 (AVX-512F FMA): A fp32 rows, W as fp32 panels of K rows (no padding of K needed).
struct F32Gemm {
  int64_t M = 0, N = 0, K = 0;
  const float* a = nullptr;  // [M][lda]; best lda = activation_row_stride(K, 4)
  int64_t lda = 0;
  PanelSource b{};  // fp32 panels
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  GemmBlocking blocking{};  // nc, kc (kc: K per step, any positive; default 256)
};
// Whether this CPU runs gemm_f32_f32 (AVX-512F/BW/VL/DQ).
bool f32_gemm_supported();
size_t gemm_f32_scratch_bytes(const F32Gemm& g, int threads);
void gemm_f32_f32(const F32Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes);

// int8 (weights as u8 codes with per-group scale/zero, activations as per-row s8 codes). Groups are
// consecutive row ranges of any length that is a multiple of 4 (per channel: one group); each K step
// covers whole groups, about blocking.kc rows.
struct Qu8Gemm {
  int64_t M = 0, N = 0;
  int64_t num_groups = 0;
  const int64_t* group_start = nullptr;  // [num_groups + 1]; Kp = group_start[num_groups]
  const int8_t* a = nullptr;             // [M][lda], from prepare_a_s8_from_f32_avx512
  int64_t lda = 0;                       // 0: Kp; best activation_row_stride(Kp, 1)
  const float* a_scale = nullptr;        // [M]
  const int32_t* a_group_sum = nullptr;  // [M][num_groups]; required when the source has zeros
  Qu8PanelSource b{};
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  GemmTier tier = GemmTier::kNone;  // kAmx or kAvx512Vnni
  GemmBlocking blocking{};
};
// Null when the groups are usable (every length a positive multiple of 4), else what is wrong.
const char* qu8_groups_error(const int64_t* group_start, int64_t num_groups);
size_t gemm_qu8_scratch_bytes(const Qu8Gemm& g, int threads);
void gemm_qu8_f32(const Qu8Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes);

// Threads the drivers use for an exec (1 without a pool).
int gemm_threads(const incq_exec* exec);

}  // namespace incq::inc_cpu::gemm

#endif
