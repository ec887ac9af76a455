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
  struct Prepared {
    const float* xf;   // fp32 x' [rows, ld] (fp32 kernels)
    const double* xd;  // double x' [rows, ld] (precise kernels)
    int64_t ld;
    int64_t rows;
  };
  static bool quantizes_input(const Mat& w) { return incq::inc_cpu::quantizes_input(w); }
  static size_t prepare_bytes(const Mat& w, int64_t rows, bool precise) {
    const size_t n = static_cast<size_t>(rows * w.K);
    if (precise) return scratch_bytes(n * 8);
    return quantizes_input(w) ? scratch_bytes(n * 8) + scratch_bytes(n * 4) : 0;
  }
  static Prepared prepare(const Mat& w, const float* x, int64_t ldx, int64_t rows, bool precise, void* scratch) {
    if (!precise && !quantizes_input(w)) return Prepared{x, nullptr, ldx, rows};
    double* xd = static_cast<double*>(scratch);
    if (precise) {
      for (int64_t r = 0; r < rows; ++r) float_input_row(w, x + r * ldx, nullptr, xd + r * w.K, xd + r * w.K);
      return Prepared{nullptr, xd, w.K, rows};
    }
    float* xf = reinterpret_cast<float*>(static_cast<uint8_t*>(scratch) + scratch_bytes(static_cast<size_t>(rows * w.K) * 8));
    for (int64_t r = 0; r < rows; ++r) float_input_row(w, x + r * ldx, xf + r * w.K, nullptr, xd + r * w.K);
    return Prepared{xf, nullptr, w.K, rows};
  }
  // Unquantized fp32 x is used in place (prepare costs nothing); quantizers are per matrix.
  static bool same_preparation(const Mat&, const Mat&) { return false; }
  static void gemm(const Mat& w, const Prepared& p, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    f32_floatw_gemm_4x4_avx512(w, p.xf, p.ld, p.rows, n0, n1, GemmOut{y, INCQ_DTYPE_F32, ldy});
  }
  static void gemm_f64(const Mat& w, const Prepared& p, int64_t n0, int64_t n1, double* y, int64_t ldy) {
    f64_floatw_gemm_4x1_avx512(w, p.xd, p.ld, p.rows, n0, n1, y, ldy);
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
