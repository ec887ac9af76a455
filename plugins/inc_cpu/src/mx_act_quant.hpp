// Dynamic activation quantization of the W4A4 / W8A8 block-scaled schemes, as AutoRound 0.16.1
// applies it at inference (auto_round/experimental/qmodules/mx.py and nvfp4.py): each row of x is
// cut into act_group_size blocks along K and every block is quantized and dequantized before the
// matmul. The matmul itself then runs on the dequantized values.
#ifndef INCQ_INC_CPU_MX_ACT_QUANT_HPP
#define INCQ_INC_CPU_MX_ACT_QUANT_HPP

#include <cstdint>
#include <string>

#include "mx_decode.hpp"

namespace incq::inc_cpu {

enum class ActKind {
  None,  // weight-only: x is used as is
  Mx,    // shared E8M0 exponent per block + element format (mxfp.py quant_mx)
  Nv     // E4M3 block scale with a static global scale (nvfp.py ref_nvfp4_quant)
};

struct ActQuant {
  ActKind kind = ActKind::None;
  ElementFormat element = kE2M1Format;  // Mx
  int64_t group = 32;                   // elements per block; <= 0: the whole row
  float global_scale = 0.0f;            // Nv: input_global_scale
};

// The activation quantizer of (act_family, act_bits, act_group_size), or false with *why.
// The rules are docs/formats.md §3 (the contract the host's oracle implements), taken from
// AutoRound 0.16.1: MX_FP from data_type/mxfp.py quant_mx, MX_INT from the same function with
// its "mx_int4" entry (E0M4 grid: multiples of 0.25, max 1.75), NV_FP from data_type/nvfp.py
// ref_nvfp4_quant. Note: AutoRound's inference module MXINT4QuantLinear does NOT do the MX_INT
// rule: experimental/qmodules/mx.py _mx_qdq calls quant_mx without data_type, whose default
// "mx_fp" becomes "mx_fp4", so it quantizes MXINT4 activations on the E2M1 grid (the mxint4
// fixture's y_fp16 shows it). A scheme that wants that behaviour says act_family MX_FP.
bool act_quant_of(int32_t act_family, int32_t act_bits, int32_t act_group_size, ActQuant* out,
                  std::string* why);

// Quantizes and dequantizes row[0, K) in place, block by block (a last shorter block is what
// AutoRound's zero padding gives). Values are first rounded to fp32 (they are fp32 numbers when
// they come from F32/BF16/F16; MoE intermediates are doubles). The dequantized x' = q * factor is
// returned exactly, in double, as the contract takes it (AutoRound additionally rounds x' to the
// input dtype; the fixture comparison accounts for that).
//  - Mx: per block a = max|x|; E = clamp(floor(log2 a) - emax, -127, 127), with a = 0 giving
//    1 - emax (AutoRound's where(max == 0, 1, log2)); q = the element grid's round-to-nearest-even
//    of clamp(x / 2^E, +-max_norm), saturating; x' = q * 2^E. Every step is exact; floor(log2) is
//    taken exactly (frexp).
//  - Nv: AutoRound's fp32 steps: t = fl(a * fl(1/6)); sb = e4m3(clamp(fl(g * t), +-448));
//    d = fl(sb * fl(1/g)); o = d == 0 ? 0 : fl(1/d); q = e2m1(clamp(fl(x * o), +-6));
//    f = o == 0 ? 0 : fl(1/o); x' = q * f (exact).
void act_quant_row(const ActQuant& q, double* row, int64_t K);

}  // namespace incq::inc_cpu

#endif
