// The error contract of inc_xpu's f32-accumulating kernels against the double-precision oracle.
#ifndef INCQ_INC_XPU_TOLERANCE_HPP
#define INCQ_INC_XPU_TOLERANCE_HPP

namespace incq::inc_xpu {

// Dequantized weights are exact in f32; each product and sum rounds once (u = 2^-24). A work-item
// sums one k-block of 32 then adds block results (chains of at most K/32/LY + 32 terms), then the
// LY slices add in order: the worst-case relative error of the sum is about (chain length) * u.
// 1e-4 covers chains up to ~1600 additions, i.e. K up to ~50k with the smallest LY (1), with room
// for the f16/bf16 input conversion (exact) and the f32 bias add.
constexpr double kXpuF32AccTolerance = 1e-4;

}  // namespace incq::inc_xpu

#endif
