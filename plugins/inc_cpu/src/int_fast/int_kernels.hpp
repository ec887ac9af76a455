// The per-ISA GEMM/GEMV kernels over the internal integer layout, and how dispatch names them.
// Every kernel computes, for strips [s0, s1) of w and rows [0, M) of the prepared activations,
//   y[m * ldy + n] = sum_k x[m][k] * scale[g(k)][n] * (q[k][n] - zero[g(k)][n])    (no bias)
// overwriting y; activations are in internal K order (K_int columns, padding rows 0). Kernels
// allocate nothing and touch only their strips' columns of y, so disjoint strip ranges may run
// on different threads.
//   f32:  x fp32 (the bf16 mode passes x already rounded to bf16: same kernel, exact products),
//         per segment acc = sum x * (q - z) in fp32, then y += scale * acc.
//   qd8:  x int8 per token (xq, sx), xsum[m][sg] = sum of xq over segment sg's rows;
//         per segment (a group, or <= 256 rows of it) acc = sum xq * q (int32, exact), y += sx * scale * float(acc - z * xsum).
#ifndef INCQ_INC_CPU_INT_FAST_INT_KERNELS_HPP
#define INCQ_INC_CPU_INT_FAST_INT_KERNELS_HPP

#include <cstdint>

#include "int_fast/int_packed_matrix.hpp"

namespace incq::inc_cpu::int_fast {

// How far ahead (in code dwords of one strip stream) the AVX-512 kernels prefetch: 4 KiB.
constexpr int64_t kPrefetchDwords = 1024;

using F32GemmFn = void (*)(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                           int64_t s1, float* y, int64_t ldy);
using Qd8GemmFn = void (*)(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq, const float* sx,
                           const int32_t* xsum, int64_t M, int64_t s0, int64_t s1, float* y, int64_t ldy);

// Portable C++ (any x86-64): the fallback and the tier the `isa=baseline` cap selects.
void f32_qgw_gemm_scalar(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                         int64_t s1, float* y, int64_t ldy);
void qd8_f32_qgw_gemm_scalar(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq, const float* sx,
                             const int32_t* xsum, int64_t M, int64_t s0, int64_t s1, float* y, int64_t ldy);
// AVX2 + FMA + F16C: 1 strip (two 8-lane halves), up to 4 rows per pass.
void f32_qgw_gemm_4x16_avx2(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                            int64_t s1, float* y, int64_t ldy);
// AVX-512: 2 strips (32 columns) x up to 4 rows per pass, table decode (vpermps) for sym codes.
void f32_qgw_gemm_4x32_avx512(const IntPackedMatrix& w, const float* x, int64_t ldx, int64_t M, int64_t s0,
                              int64_t s1, float* y, int64_t ldy);
// AVX512-VNNI: vpdpbusd of u8 codes with s8 activations, 2 strips x up to 8 rows per pass.
void qd8_f32_qgw_gemm_4x32_avx512vnni(const IntPackedMatrix& w, const int8_t* xq, int64_t ldq,
                                      const float* sx, const int32_t* xsum, int64_t M, int64_t s0,
                                      int64_t s1, float* y, int64_t ldy);

// Activation preparation, AVX-512 (act_quant_avx512.cpp): bit-exact with quantize_row_int8 and with
// float_to_bf16 rounding (finite inputs) respectively.
float quantize_row_int8_avx512(const float* x, int64_t K, int8_t* q);
void round_row_bf16_avx512(float* x, int64_t K);
// Exact widening of activation rows (every BF16 / F16 value is an fp32 value).
void bf16_to_f32_row_avx512(const uint16_t* in, int64_t K, float* out);
void f16_to_f32_row_avx512(const uint16_t* in, int64_t K, float* out);

}  // namespace incq::inc_cpu::int_fast

#endif
