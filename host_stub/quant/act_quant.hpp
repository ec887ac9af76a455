// Activation quantization as the oracle applies it before the matmul (docs/formats.md §3).
#pragma once

#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::host::quant {

// x_out[M,K] = x' for x[M,K] (row-major; x_out may equal x), following scheme.act_family in groups
// of scheme.act_group_size consecutive elements of a row (-1: the whole row; a shorter last group
// when it does not divide K). act_bits >= 16 or act_family DENSE: x' = x. Each x is first rounded
// to fp32 (activations reach apply as F32/BF16/F16, so this is exact for real inputs).
//   INT (bits b, W4A8: 8):  s = fp32(amax / (2^(b-1)-1)), q = clamp(RNE(fp32(x / s)), -2^(b-1), 2^(b-1)-1)
//   FP8 (e4m3):             s = max(fp32(amax / 448), fp32(1/(448*512))), q = e4m3(fp32(x / s))
//   MX_FP / MX_INT:         E = mx_shared_exponent(amax), q = mx_round_element(x / 2^E), s = 2^E
//   NV_FP (E2M1, g = input_global_scale): nv_block.hpp, s = its factor
// and x' = q · s exactly (in double). The codes q and scales s are what implementations must match
// bit for bit. Throws incq::host::Error for an unsupported family/bits, act_group_size 0 or < -1,
// or (NV_FP) a negative or non-finite input_global_scale; input_global_scale is unused otherwise.
void quantize_activations(const incq_scheme& scheme, const double* x, int64_t M, int64_t K, double input_global_scale,
                          double* x_out);

}  // namespace incq::host::quant
