// The fast float-format products over FloatMatrix (float_matrix.hpp), AVX-512 (F/BW/VL/DQ):
//  - float_gemm_f32: y = x W^T (+bias) with fp32 x, weights decoded in registers (FP8 through
//    binary16, FP4 through a 16-entry permute table), each group's scale multiplied into the
//    decoded weights, fp32 FMA accumulation. The decode GEMV (M <= 4) streams 4 weight rows at a
//    time over all of K; larger M works in 16-row x 64-column x 512-deep cache blocks.
//  - float_gemm_f64: the same product accumulated in double from exact decoded weights, for
//    intermediates that are quantized again (an activation-quantized MoE's gate/up): its error is
//    the reference's order, so the quantizer downstream sees the reference's input.
// Both write columns [n0, n1) of rows [0, M); they allocate nothing and run on the calling thread.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FLOAT_GEMM_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FLOAT_GEMM_HPP

#include <cstdint>

#include "float_matrix.hpp"

namespace incq::inc_cpu {

// Where results go: row m, column j (j = n - n0) at data + (m * ld + j) * element size, rounded once
// from fp32 to dtype (F32, BF16 or F16).
struct GemmOut {
  void* data;
  int32_t dtype;
  int64_t ld;
};

// True when this CPU (and OS) runs the AVX-512 F/BW/VL/DQ kernels.
bool float_fast_cpu_supported();

void f32_floatw_gemm_4x4_avx512(const FloatMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t n0,
                                int64_t n1, const GemmOut& y);
// bf16 mode for FP8 elements (FloatMatrix::bf16_ok), x exact in bf16: the same product with the
// weights decoded exactly to bf16 and multiplied by vdpbf16ps (fp32 accumulation), scales applied
// per group to the partial sums. x holds M rows of bf16 in permute_bf16_row_fp8w order (row stride
// ldx >= K rounded up to 64, zero-padded). Decode sizes (any M; weights re-read from L2 past 2 rows).
bool fp8_bf16_cpu_supported();  // AVX512-BF16 and AVX512-VBMI on top of float_fast_cpu_supported
void f32_fp8w_bf16x_gemv_4x64_avx512bf16(const FloatMatrix& w, const uint16_t* x, int64_t ldx, int64_t M, int64_t n0,
                                         int64_t n1, const GemmOut& y);
// One row of K bf16 values -> round_up(K, 64) values in the kernel's order: per 64-block, k 0-7,
// 16-23, 32-39, 48-55, then 8-15, 24-31, 40-47, 56-63 (what two byte interleaves of 64 codes give);
// zeros past K. AVX-512 (BW); only the bf16 GEMV's callers use it.
void permute_bf16_row_fp8w(const uint16_t* x, int64_t K, uint16_t* out);

void f64_floatw_gemm_4x1_avx512(const FloatMatrix& w, const double* x, int64_t ldx, int64_t M, int64_t n0,
                                int64_t n1, double* y, int64_t ldy);

}  // namespace incq::inc_cpu

#endif
