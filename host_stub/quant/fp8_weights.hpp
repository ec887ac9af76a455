// FP8 weight-only layers (docs/formats.md §2, §4): reading AutoRound's FP8 checkpoint tensors
// into the oracle's double weights, and writing them from float weights (round to nearest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"

namespace incq::host::quant {

// W [K][N] (x·W orientation, element (k, n) at k*N + n) = code(n, k) · scale, exact in double.
// weight: F8_E4M3 or F8_E5M2 [N, K], matching scheme.weight_dtype. scale: F32 / F16 / BF16 —
//   packing FP8: `weight_scale`, by scheme.group_size: 0 per tensor [1] or []; -1 per channel [N]
//   or [N, 1]; G > 0 per group [N, ceil(K/G)] or flat [N*ceil(K/G)];
//   packing FP8_BLOCK: `weight_scale_inv` [ceil(N/block_n), ceil(K/block_k)] (multiplied, not
//   divided, despite the name).
// Throws incq::host::Error "<layer>: <tensor>...": wrong dtype/shape, NaN/Inf codes (naming
// [n, k]), non-finite scales (naming the flat index), a scheme that is not FP8.
std::vector<double> dequantize_fp8(const std::string& layer, const incq_tensor& weight, const incq_tensor& scale,
                                   const incq_scheme& scheme, int64_t K, int64_t N);

// AutoRound's FP8 RTN from HF-orientation weights w_nk [N][K]: per scale group
// s = fp32(max|w| / fmax) (at least fp32(1/(448*512))), code = encode(fp32(w / s)), the scale
// stored as BF16 (AutoRound stores it in the model dtype). Tensors: "weight" [N, K] and
// "weight_scale" ([1], [N] or [N, ceil(K/G)]) or, for FP8_BLOCK, "weight_scale_inv".
// Throws incq::host::Error on non-finite weights or an unsupported scheme.
std::vector<PackedTensor> quantize_fp8(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme);

}  // namespace incq::host::quant
