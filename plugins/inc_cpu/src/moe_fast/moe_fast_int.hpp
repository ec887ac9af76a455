// Integer weight-only experts (GPTQ v1/v2, AWQ; 2/3/4/8-bit; sym/asym; act-order) as the fast MoE
// driver's expert matrix, through cpu-int's per-matrix API (int_fast/int_matmul.hpp): each expert
// projection repacked once into the internal layout; per call its activations prepared once per
// chunk and its columns run in 64-wide blocks on any thread.
#ifndef INCQ_INC_CPU_MOE_FAST_MOE_FAST_INT_HPP
#define INCQ_INC_CPU_MOE_FAST_MOE_FAST_INT_HPP

#include <cstdint>

#include "incq/plugin_helpers.hpp"
#include "int_fast/int_matmul.hpp"
#include "int_fast/int_packed_matrix.hpp"
#include "int_wo_experts.hpp"
#include "moe_fast/moe_fast_driver.hpp"

namespace incq::inc_cpu {

// Max |y - y_oracle| <= kIntFastMoeTolerance * (the contract's MoE magnitude) in the default compute
// types. Why: bf16 (the default for bf16/f16 activations) rounds each projection's input to bf16
// (2^-9 relative: x for gate/up, h for down; exact for bf16 x), fp32 accumulation per group then
// scale adds (K/16 + groups + 8) u (u = 2^-24, K <= 65536 -> <= 2.6e-4), the fp32 h and the
// combine add u-sized terms: 2^-9 + 2^-9 + 2.6e-4 < 4.2e-3. fp32 mode is within the last term.
// int8 (opt-in) quantizes activations per token and is outside this relative form
// (docs/compute_modes_float.md).
constexpr double kIntFastMoeTolerance = 4.2e-3;

struct IntExpertMatrix {
  int_fast::IntPackedMatrix w;
  int_fast::IntKernels kernels;
  int_fast::ComputeType ct = int_fast::ComputeType::kFp32;
};

struct IntExpertOps {
  using Mat = IntExpertMatrix;
  using Prepared = int_fast::PreparedActivations;
  // The int8 compute type quantizes inside the matmul API, under its own declared bound
  // (docs/compute_modes_float.md); no projection of a W4A16 scheme quantizes as part of the scheme.
  static bool quantizes_input(const Mat&) { return false; }
  static size_t prepare_bytes(const Mat& m, int64_t rows, bool) {
    return int_fast::activation_scratch_bytes(m.w, m.ct, rows);
  }
  static Prepared prepare(const Mat& m, const float* x, int64_t ldx, int64_t rows, bool, void* scratch) {
    // The kernels' vectorized rounding / quantization (identical results to the scalar ones).
    return int_fast::prepare_activations(m.w, m.ct, x, ldx, rows, scratch, &m.kernels);
  }
  // Two matrices take the same prepared activations from the same x when both keep the checkpoint's
  // K order (no act-order gather) with the same padding and compute type.
  static bool same_preparation(const Mat& a, const Mat& b) {
    return a.ct == b.ct && a.w.K == b.w.K && a.w.K_int == b.w.K_int && a.w.k_source.empty() && b.w.k_source.empty();
  }
  static void gemm(const Mat& m, const Prepared& p, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    // int_matmul_columns indexes y by absolute column; the driver's y starts at column n0.
    int_fast::int_matmul_columns(m.w, m.kernels, p, n0, n1, y - n0, ldy, /*add_bias=*/true);
  }
  static void gemm_f64(const Mat&, const Prepared&, int64_t, int64_t, double*, int64_t) {
    // Unreachable: quantizes_input is false, so the driver never asks for double gate/up.
  }
};

using IntFastExperts = MoeFastExperts<IntExpertMatrix>;

// Repacks the reference's validated experts (every check and message of load_int_wo_experts holds).
IntFastExperts int_experts_from_ref(const IntWoExperts& ex, int_fast::ComputeType ct);

inline uint64_t int_experts_resident_bytes(const IntFastExperts& ex) {
  uint64_t b = 0;
  for (size_t e = 0; e < ex.gate.size(); ++e)
    b += ex.gate[e].w.resident_bytes() + ex.up[e].w.resident_bytes() + ex.down[e].w.resident_bytes();
  return b;
}

}  // namespace incq::inc_cpu

#endif
