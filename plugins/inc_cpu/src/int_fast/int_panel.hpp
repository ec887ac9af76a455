// Weight panels for the prefill microkernels of src/gemm (cpu-gemm), produced from the internal
// integer layout (int_packed_matrix.hpp). The agreed contract between the two sides:
//
// K order. Panels use the internal K order. When w.k_source is non-empty the caller first gathers
// each activation row into internal order (gather_x_internal: padding rows read 0), then runs the
// GEMM over K_int rows. Everything below indexes internal rows.
//
// Columns. A panel covers columns [n0, n0 + nb) with nb a multiple of 16 (16, 32, 48 or 64: a
// microkernel's column tile); columns >= N are written as zeros (weight 0, scale 0, zero 0), so a
// microkernel never needs a column mask on the B side.
//
// 1. BF16 panel (AVX512-BF16 vdpbf16ps, AMX TDPBF16PS): dequantized weights
//      panel[kp][j][2] = bf16_rne( scale[g(k)][n0+j] * (q[k][n0+j] - zero[g(k)][n0+j]) ),
//      k = k0 + 2*kp + {0, 1}, kp in [0, ceil(kc/2)), rows >= k0 + kc (or >= K_int) are 0.
//    i.e. [ceil(kc/2)][nb][2] uint16 — each 32-bit lane holds the pair (k, k+1) of one column, the
//    operand order vdpbf16ps wants, and row stride 4*nb bytes is an AMX B tile of 16 columns when
//    nb = 16 (or a 16-column slice of it with stride 4*nb). Any k0, kc (groups may be crossed: the
//    scale is already applied). The fp32 product s*(q-z) is exact; the bf16 rounding is the one
//    weight-side error of the bf16 compute mode (docs/compute_modes.md).
//
// 2. U8 code panel for int8 (AVX512-VNNI vpdpbusd, AMX TDPBSUD): raw codes, one group at a time
//      panel[k4][j][4] = q[k0 + 4*k4 + i][n0 + j] (uint8, i = 0..3),  k4 in [0, kc/4)
//    [kc/4][nb][4] uint8, where [k0, k0 + kc) is exactly one group's internal range
//    (w.group_start[g] .. w.group_start[g+1]; always a multiple of 4 rows). The codes are the
//    unsigned stored codes: the activation side is the signed one, so the microkernel computes
//      acc[m][j] = sum_k xq[m][k] * panel[k][j]          (vpdpbusd(acc, panel_u8, xq_s8 bcast))
//      y[m][n0+j] += sx[m] * scale[j] * float(acc[m][j] - zero[j] * xsum[m])
//    with xsum[m] = sum of xq[m][k] over the group's rows (exact int32) and scale/zero the group's
//    per-column values (produce_group_params). This is exact integer arithmetic for every bit width
//    and zero (8-bit asymmetric zeros up to 256 included), with no compensation tables stored.
//
// 3. fp32 panel (fp32 FMA, the bf16 mode's kernel on AVX-512 machines without AMX): the exact
//      panel[k][j] = scale[g(k)][n0+j] * (q[k][n0+j] - zero[g(k)][n0+j]),  k = k0 + [0, kc)
//    [kc][nb] float (row stride nb), rows >= K_int and columns >= N zero. Any k0, kc.
//
// Padding rows (internal rows with k_source -1, or past K) hold code 0; their gathered activation
// is 0, so whatever weight they decode to contributes nothing.
//
// Both producers write only the caller's buffer (no allocation) and are safe to call from several
// threads on one matrix.
#ifndef INCQ_INC_CPU_INT_FAST_INT_PANEL_HPP
#define INCQ_INC_CPU_INT_FAST_INT_PANEL_HPP

#include <cstdint>

#include "int_fast/int_packed_matrix.hpp"

namespace incq::inc_cpu::int_fast {

// (1) bf16 dequantized panel, [ceil(kc/2)][nb][2] uint16 into `panel` (4 * nb * ceil(kc/2) bytes).
void produce_bf16_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                        uint16_t* panel);

// (3) fp32 panel, [kc][nb] float into `panel` (4 * nb * kc bytes).
void produce_f32_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t k0, int64_t kc, float* panel);

// (2) u8 code panel of group g, [len/4][nb][4] uint8 into `panel` (len = group_start[g+1] -
// group_start[g]; 4 * nb * len/4 bytes).
void produce_u8_group_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g,
                            uint8_t* panel);

// (2') the same panel for internal rows [r0, r1) (multiples of k_tile, e.g. a segment of at most
// kMaxSegmentRows rows inside one group): [(r1-r0)/4][nb][4] uint8.
void produce_u8_rows_panel(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t r0, int64_t r1,
                           uint8_t* panel);

// Group g's per-column scale (fp32) and zero (int32) for columns [n0, n0 + nb); 0 past N.
void produce_group_params(const IntPackedMatrix& w, int64_t n0, int64_t nb, int64_t g, float* scale,
                          int32_t* zero);

}  // namespace incq::inc_cpu::int_fast

#endif
