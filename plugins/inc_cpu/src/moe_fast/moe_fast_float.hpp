// FloatMatrix (FP8 / MXFP4 / MXFP8 / NVFP4 / MXINT4) as the fast MoE driver's expert matrix.
#ifndef INCQ_INC_CPU_MOE_FAST_MOE_FAST_FLOAT_HPP
#define INCQ_INC_CPU_MOE_FAST_MOE_FAST_FLOAT_HPP

#include "float_fast/float_gemm.hpp"
#include "float_fast/float_input.hpp"
#include "float_fast/float_matrix.hpp"
#include "fp8_experts.hpp"
#include "moe_fast/moe_fast_driver.hpp"
#include "mx_experts.hpp"

namespace incq::inc_cpu {

struct FloatExpertOps {
  using Mat = FloatMatrix;
  static bool quantizes_input(const Mat& w) { return incq::inc_cpu::quantizes_input(w); }
  static void input_row(const Mat& w, const float* src, float* out_f, double* out_d, double* tmp) {
    float_input_row(w, src, out_f, out_d, tmp);
  }
  static void gemm_f32(const Mat& w, const float* x, int64_t ldx, int64_t M, int64_t n0, int64_t n1, float* y,
                       int64_t ldy) {
    f32_floatw_gemm_4x4_avx512(w, x, ldx, M, n0, n1, GemmOut{y, INCQ_DTYPE_F32, ldy});
  }
  static void gemm_f64(const Mat& w, const double* x, int64_t ldx, int64_t M, int64_t n0, int64_t n1, double* y,
                       int64_t ldy) {
    f64_floatw_gemm_4x1_avx512(w, x, ldx, M, n0, n1, y, ldy);
  }
};

using FloatExperts = MoeFastExperts<FloatMatrix>;

// From the reference's validated experts (their loaders keep every check and message).
FloatExperts float_experts_from_fp8(const Fp8Experts& ex, const Fp8ActQuant& act);
FloatExperts float_experts_from_mx(const MxExperts& ex);

inline uint64_t float_experts_resident_bytes(const FloatExperts& ex) {
  uint64_t b = 0;
  for (size_t e = 0; e < ex.gate.size(); ++e)
    b += ex.gate[e].resident_bytes() + ex.up[e].resident_bytes() + ex.down[e].resident_bytes();
  return b;
}

}  // namespace incq::inc_cpu

#endif
