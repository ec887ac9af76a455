// NVFP4 weight layers (docs/formats.md §2, §4): AutoRound's checkpoint tensors to the oracle's
// double weights, and float weights to those tensors (round to nearest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"

namespace incq::host::quant {

// W [K][N] (x·W, element (k, n) at k*N + n) = e2m1(n, k) · weight_scale[n, k/16] / weight_global_scale,
// exact in double. weight_packed: U8 [N, K/2] (low nibble first); weight_scale: F8_E4M3 [N, K/G]
// (G = scheme.group_size, AutoRound: 16); weight_global_scale: F32 [1] (or []), finite and >= 0 —
// 0 decodes to an all-zero W, as AutoRound's get_reciprocal(0) = 0 does.
// Throws incq::host::Error "<layer>: <tensor>...": dtype/shape, e4m3 NaN scale codes ([n, g]),
// negative or non-finite global scale.
std::vector<double> dequantize_nvfp4(const std::string& layer, const incq_tensor& weight_packed,
                                     const incq_tensor& weight_scale, const incq_tensor& weight_global_scale,
                                     const incq_scheme& scheme, int64_t K, int64_t N);

// The value of a scalar F32 tensor of shape [1] or [] (input_global_scale, weight_global_scale).
double read_global_scale(const std::string& layer, const std::string& name, const incq_tensor& t);

// AutoRound's NVFP4 RTN of HF-orientation w_nk [N][K]: weight_global_scale = fp32(2688 · fp32(1/max|W|))
// unless weight_global_scale > 0 is given (AutoRound shares the smallest one across q/k/v and
// gate/up), then per block of 16 the rule of nv_block.hpp. Tensors: "weight_packed",
// "weight_scale", "weight_global_scale" and "input_global_scale" (F32 [1], as given).
std::vector<PackedTensor> quantize_nvfp4(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme,
                                         float input_global_scale, float weight_global_scale = 0.0f);

}  // namespace incq::host::quant
