// K and N of an FP8 / MX / NV layer from the shape of its element tensor.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host::quant {

// weight [N, K] (FP8, MXFP8) or weight_packed [N, K/2] (4-bit MX / NV) -> {K, N}. Throws
// incq::host::Error naming the scheme when the shape is not 2-D or not positive.
std::pair<int64_t, int64_t> infer_float_kn(const std::vector<int64_t>& weight_shape, const incq_scheme& scheme);

}  // namespace incq::host::quant
