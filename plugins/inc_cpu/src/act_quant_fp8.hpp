// Dynamic FP8 (E4M3) activation quantization, as W8A8 FP8 schemes apply it to x before the matmul
// (AutoRound's fp8_block export: act_data_type fp8, act_dynamic, act_group_size 128).
// Rules: docs/formats.md §3 "FP8" (the host's oracle applies the same ones, bit for bit):
//   per group of `group` consecutive elements of a row (-1: the whole row; the last group may be
//   shorter): a = max |x| (exact); s = max(fp32(a / 448), fp32(1 / (448 * 512))); q = the E4M3
//   value nearest to fp32(x / s) (ties to even, saturating at +-448); x' = q * s, exact in double.
//   The floor on s (AutoRound's quant_fp8_sym) keeps a group of zeros from dividing by zero.
#ifndef INCQ_INC_CPU_ACT_QUANT_FP8_HPP
#define INCQ_INC_CPU_ACT_QUANT_FP8_HPP

#include <cstdint>

namespace incq::inc_cpu {

constexpr float kE4m3Max = 448.0f;

// The E4M3 value nearest to v, ties to even, saturated to [-448, 448]. v must be finite.
float round_to_e4m3(float v);

// x [K] (finite) -> out [K] = x' as defined above.
void quantize_row_fp8_e4m3(const float* x, int64_t K, int64_t group, double* out);

}  // namespace incq::inc_cpu

#endif
