// Prefill (many activation rows) for the fast integer Linear: the blocked GEMMs of src/gemm over weight
// panels decoded per block from the internal layout (int_panel.hpp), instead of the decode kernels
// that re-decode every weight for each group of 4 rows.
//   bf16 mode (BF16 activations only, see use_prefill): activations as given; with AMX, weights
//              dequantized to bf16 panels (the weight-side bf16 rounding docs/compute_modes.md
//              declares), else exact fp32 weight panels and the fp32 FMA GEMM (no weight rounding
//              at all); fp32 accumulation in K steps of prefill_bf16_k_step rows.
//   int8 mode: the same per-token int8 codes as the decode path, u8 code panels per segment (the
//              kernel's "groups" are the segments of at most kMaxSegmentRows rows), exact int32 per
//              segment, then one fp32 scaling per segment.
// fp32 mode never comes here (its tighter, exact-activation bound is the decode path's).
#ifndef INCQ_INC_CPU_INT_FAST_INT_PREFILL_HPP
#define INCQ_INC_CPU_INT_FAST_INT_PREFILL_HPP

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemm/gemm_driver.hpp"
#include "incq/plugin_api.h"
#include "int_fast/int_matmul.hpp"

namespace incq::inc_cpu::int_fast {

// Rows from which apply takes the GEMM path (below: the decode kernels). With the vectorized panel
// producers the decode of the panels is ~1 % of a pass; measured per row on the 2-core dev machine
// (4096x14336, 2 threads, 2026-11-22): int8 0.50 ms/row on the decode kernels at M = 128 vs 0.49
// on the GEMM at M = 256, bf16 mode 1.67 vs 1.43 ms/row, so lowering the threshold gains little.
constexpr int64_t kPrefillMinRows = 256;
// Rows per GEMM pass (bounds the scratch; each pass decodes the weights once).
constexpr int64_t kPrefillRowChunk = 512;
// Threads the scratch reserved at process time is sized for (apply uses fewer if the exec says so).
int prefill_planned_threads();

// What a layer needs for prefill, built at process time.
struct IntPrefill {
  gemm::GemmTier bf16_tier = gemm::GemmTier::kNone;
  gemm::GemmTier int8_tier = gemm::GemmTier::kNone;
  bool bf16_f32 = false;  // bf16 mode runs the fp32 GEMM (gemm_f32_f32) on exact fp32 weight panels
  std::vector<int64_t> seg_start;  // [num_segments + 1] internal row of each segment (int8 "groups")
};
IntPrefill plan_int_prefill(const IntPackedMatrix& w);

// Rows the bf16 mode sums in fp32 before adding the sum into y (the GEMM's K step): 256 on
// AVX512-BF16 (kMaxSegmentRows, as the decode path), 1024 on AMX, whose tiles are stored and added
// into C at every step (at 256 that epilogue cost about a quarter of the tile work). Either way
// 2^-8 + (step + steps + 4) u stays inside the declared 2^-8 + 2^-11 (2^-11 = 8192 u).
int64_t prefill_bf16_k_step(const IntPrefill& p);

// Whether apply with this compute type, activation dtype (incq_dtype) and row count takes the prefill
// path. bf16 mode only for BF16 activations: rounding the weights to bf16 costs up to 2^-8 * mag
// (bf16 has 8 significant bits), which with the fp32 part fits the declared 2^-8 + 2^-11 only when
// the activations need no rounding of their own (docs/compute_modes.md).
bool use_prefill(const IntPrefill& p, ComputeType ct, int32_t act_dtype, int64_t M);

// Scratch bytes one prefill pass of up to kPrefillRowChunk rows needs with `threads` threads
// (0 when the mode has no prefill path on this machine).
size_t int_prefill_scratch_bytes(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, int threads);

// y[m][n] = (x W)[m][n] (+ bias) for mc <= kPrefillRowChunk rows of fp32 x (checkpoint K order, row
// stride w.K, finite) into fp32 y (row stride w.N). Scratch: int_prefill_scratch_bytes(..., threads)
// bytes minus nothing else; returns false (nothing written) when `scratch_bytes` does not hold even a
// one-thread pass. Threads: exec's pool when it lends one, else inc_cpu's worker pool.
bool int_prefill_rows(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, const float* x, int64_t mc,
                      float* y, const incq_exec* exec, void* scratch, size_t scratch_bytes);

}  // namespace incq::inc_cpu::int_fast

#endif
