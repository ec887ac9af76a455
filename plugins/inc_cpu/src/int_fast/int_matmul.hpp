// The per-matrix integer matmul API shared by inc_cpu's fast Linear (glue/int_fast_*.cpp,
// glue/w4a8_fast_*.cpp) and the fast MoE driver (src/moe_fast): repack one matrix once, then per
// call prepare the activations once and run any column range on any thread with caller scratch.
//
//   IntPackedMatrix w = repack_int_matrix(load_int_wo_matrix(...));       // process time
//   IntKernels k = select_int_kernels();                                  // process time
//   std::vector<uint8_t> buf(activation_scratch_bytes(w, ct, max_rows));  // process time
//   ... per call (no allocation):
//   PreparedActivations a = prepare_activations(w, k, ct, x, ldx, M, buf.data());
//   int_matmul_columns(w, k, a, n_begin, n_end, y, ldy, /*add_bias=*/true);   // any split of N
//
// Compute types (docs/compute_modes.md): kFp32 exact activations; kBf16 activations rounded to
// bf16 (exact for bf16 inputs); kInt8 per-token symmetric int8 activations, bit-exact with
// docs/formats.md §3 "INT" (the W4A8 contract). Weights are always decoded exactly.
#ifndef INCQ_INC_CPU_INT_FAST_INT_MATMUL_HPP
#define INCQ_INC_CPU_INT_FAST_INT_MATMUL_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "int_fast/int_kernels.hpp"
#include "int_fast/int_packed_matrix.hpp"

namespace incq::inc_cpu::int_fast {

enum class ComputeType { kFp32, kBf16, kInt8 };
const char* compute_type_name(ComputeType ct);

// The kernels for the machine's ISA under the plugin's `isa` cap, chosen once (process time).
struct IntKernels {
  F32GemmFn f32 = nullptr;
  Qd8GemmFn qd8 = nullptr;
  const char* f32_name = "";
  const char* qd8_name = "";
  float (*quantize_row)(const float* x, int64_t K, int8_t* q) = nullptr;  // null: the scalar one
  void (*round_row_bf16)(float* x, int64_t K) = nullptr;                  // null: the scalar one
  void (*bf16_to_f32_row)(const uint16_t* in, int64_t K, float* out) = nullptr;
  void (*f16_to_f32_row)(const uint16_t* in, int64_t K, float* out) = nullptr;
};
IntKernels select_int_kernels();

// Scratch bytes prepare_activations needs for up to `rows` rows.
size_t activation_scratch_bytes(const IntPackedMatrix& w, ComputeType ct, int64_t rows);

struct PreparedActivations {
  ComputeType ct = ComputeType::kFp32;
  int64_t M = 0;
  const float* xf = nullptr;   // fp32/bf16: [M][K_int]
  const int8_t* xq = nullptr;  // int8: [M][K_int] codes, sx [M], xsum [M][num_segments]
  const float* sx = nullptr;
  const int32_t* xsum = nullptr;
  int64_t ld = 0;              // row stride of xf / xq in elements (K_int rounded up)
};

// x: M rows of w.K fp32 values (row stride ldx, checkpoint K order; finite — the caller checks).
// Writes only into `scratch` (activation_scratch_bytes(w, ct, M) bytes, 64-byte aligned).
// `k` (optional) supplies vectorized quantization / rounding with identical results.
PreparedActivations prepare_activations(const IntPackedMatrix& w, ComputeType ct, const float* x, int64_t ldx,
                                        int64_t M, void* scratch, const IntKernels* k = nullptr);

// y[m * ldy + n] = (x W)[m][n] (+ bias[n]) for n in [n_begin, n_end), m < a.M; n_begin must be a
// multiple of kStripWidth (16) and n_end a multiple of it or N. Overwrites y; no allocation.
void int_matmul_columns(const IntPackedMatrix& w, const IntKernels& k, const PreparedActivations& a,
                        int64_t n_begin, int64_t n_end, float* y, int64_t ldy, bool add_bias);

}  // namespace incq::inc_cpu::int_fast

#endif
