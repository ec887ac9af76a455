// Blocked, multi-threaded prefill GEMMs over weight panels (panel_layout.hpp):
//   C[M][N] (+)= A[M][K] . W^T,  W given as panels by a PanelSource (resident or decoded per block).
// Threads go through the caller's incq_exec (never more than max_threads work items at once, one
// scratch slot each); nothing is allocated: the caller passes scratch of *_scratch_bytes() bytes.
//
// Blocking: each work item owns a range of (column block of nc, row block) pairs; per K step it
// fetches the nc x kc panel block once (decoding it if the source decodes) and runs every row tile of
// its row block over it, so a decoded block is reused by all M rows while it sits in L2.
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
};

struct Bf16Gemm {
  int64_t M = 0, N = 0, K = 0;
  const uint16_t* a = nullptr;  // [M][bf16_padded_k(K)], from prepare_a_bf16_*
  PanelSource b{};              // bf16 panels of padded K bf16_padded_k(K)
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;  // false: C = A.W^T; true: C += A.W^T (e.g. C pre-filled with the bias)
  GemmTier tier = GemmTier::kNone;  // kAmx, kAvx512Bf16 or kAvx512Fp32
  GemmBlocking blocking{};
};
size_t gemm_bf16_scratch_bytes(const Bf16Gemm& g, int threads);
void gemm_bf16_f32(const Bf16Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes);

// K padding of int8 rows and panels: per-channel (group == K) pads to 64; with several groups K must
// be a multiple of the group and the group a multiple of 4 (then no padding). 0 = unsupported.
int64_t s8_padded_k(int64_t K, int64_t group);

struct Qu8Gemm {
  int64_t M = 0, N = 0, K = 0;
  int64_t group = 0;                 // K group of the weight scales (== K: per channel)
  const uint8_t* a = nullptr;        // [M][s8_padded_k], from prepare_a_u8_from_f32_avx512
  const float* a_scale = nullptr;    // [M]
  const int32_t* a_group_sum = nullptr;  // [M][K/group], needed with w_zero_scale
  PanelSource b{};                   // s8 quad panels
  const float* w_scale = nullptr;    // [K/group][ldws]
  const float* w_zero_scale = nullptr;  // [K/group][ldws] = scale * zero, or null
  int64_t ldws = 0;
  const float* comp = nullptr;       // [N] = 128 * sum_g w_scale[g][n] * sum_{k in g} b[k][n]
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  GemmTier tier = GemmTier::kNone;   // kAmx or kAvx512Vnni
  GemmBlocking blocking{};
};
size_t gemm_qu8_scratch_bytes(const Qu8Gemm& g, int threads);
void gemm_qu8_f32(const Qu8Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes);

// comp[n] for Qu8Gemm from s8 weights w[n][k] (row stride ldw) and their scales.
void compute_shift_compensation(const int8_t* w, int64_t N, int64_t K, int64_t ldw, int64_t group,
                                const float* w_scale, int64_t ldws, float* comp);

// Threads the drivers use for an exec (1 without a pool).
int gemm_threads(const incq_exec* exec);

}  // namespace incq::inc_cpu::gemm

#endif
