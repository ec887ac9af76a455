// ISA-specific panel producers behind int_panel.hpp's dispatch (int_panel.cpp picks one per call).
// Bit-identical outputs to the portable producers, on a narrower domain, checked by the dispatcher:
//   n0 and nb multiples of 16 (whole strips; strips past N are written as zeros),
//   bf16, f32: k0 a multiple of w.k_tile and [k0, k0 + kc) made of whole tiles up to min(k0 + kc, K_int),
//   u8:   r0, r1 multiples of w.k_tile (as int_panel.hpp requires anyway).
#ifndef INCQ_INC_CPU_INT_FAST_INT_PANEL_KERNELS_HPP
#define INCQ_INC_CPU_INT_FAST_INT_PANEL_KERNELS_HPP

#include <cstdint>

#include "int_fast/int_packed_matrix.hpp"

namespace incq::inc_cpu::int_fast {

void produce_bf16_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                               uint16_t* panel);
void produce_u8_rows_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                                  uint8_t* panel);
void produce_f32_panel_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                              float* panel);
void produce_group_params_scalar(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale,
                                 int32_t* zero);

// AVX512-BF16 (vcvtne2ps2bf16 rounds to nearest even like float_to_bf16; the fp32 values are exact).
void produce_bf16_panel_avx512bf16(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                                   uint16_t* panel);
// AVX-512F (same domain as the bf16 one).
void produce_f32_panel_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                              float* panel);
// AVX-512F/BW: codes are moved, never computed on, so any AVX-512 int8 tier can use these.
void produce_u8_rows_panel_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                                  uint8_t* panel);
void produce_group_params_avx512(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale,
                                 int32_t* zero);

}  // namespace incq::inc_cpu::int_fast

#endif
