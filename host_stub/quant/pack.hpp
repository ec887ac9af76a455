// Writes IntWeights as the checkpoint tensors of a GPTQ (v1/v2) or AWQ layer (DESIGN §4).
#pragma once

#include <vector>

#include "incq/plugin_api.h"
#include "quant/int_weights.hpp"
#include "quant/packed_tensor.hpp"

namespace incq::host::quant {

// Returns "qweight" I32, "qzeros" I32, "scales" F16, and "g_idx" I32 when with_g_idx (k / G when
// w.g_idx is empty), in that order. Throws incq::host::Error when the packing cannot hold w
// (AWQ: bits 4, N % 8 == 0; GPTQ: bits 2/3/4/8, K*bits % 32 == 0, N*bits % 32 == 0; a zero point
// outside zero_range(), e.g. 0 under GPTQ v1) or when w is inconsistent (sizes, codes, g_idx).
std::vector<PackedTensor> pack_int(const IntWeights& w, incq_packing packing, bool with_g_idx);

}  // namespace incq::host::quant
