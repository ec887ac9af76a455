// Activation rows in the form the GEMM kernels read: bf16 rows, or u8 codes (s8 + 128) with a per-row
// scale, zero-padded to the panel's K (see panel_layout.hpp). Rows [m0, m1) only, so callers can split
// rows across threads. x must be finite (callers validate activations first).
#ifndef INCQ_INC_CPU_GEMM_PREPARE_A_HPP
#define INCQ_INC_CPU_GEMM_PREPARE_A_HPP

#include <cstdint>

namespace incq::inc_cpu::gemm {

// Rows are written at out + m * ldo (ldo >= Kp, see activation_row_stride in gemm_driver.hpp).
// out[m][k] = bf16(x[m][k]) (round to nearest even) for k < K, 0 for K <= k < Kp. AVX-512F.
void prepare_a_bf16_from_f32_avx512(const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                    int64_t Kp, uint16_t* out, int64_t ldo);
void prepare_a_bf16_from_bf16_avx512(const uint16_t* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                     int64_t Kp, uint16_t* out, int64_t ldo);

// Per-row symmetric int8 codes exactly as act_quant_int8.hpp (s = fp32(max|x| / 127), q =
// clamp(RNE(fp32(x / s)), -128, 127), a zero row has s = 0 and q = 0); K <= k < Kp get 0.
// a_scale[m] = s. When group_sum is non-null, group_sum[m * num_groups + g] = sum of q over rows
// [group_start[g], group_start[g + 1]) (needed for weights with zero points).
void prepare_a_s8_from_f32_avx512(const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t K,
                                  int64_t Kp, int8_t* out, int64_t ldo, float* a_scale, const int64_t* group_start,
                                  int64_t num_groups, int32_t* group_sum);

}  // namespace incq::inc_cpu::gemm

#endif
