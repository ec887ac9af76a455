// MX weight layers — MXFP4, MXFP8, MXINT4 (docs/formats.md §2, §4): AutoRound's checkpoint
// tensors to the oracle's double weights, and float weights to those tensors (round to nearest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"

namespace incq::host::quant {

// W [K][N] (x·W, element (k, n) at k*N + n) = element(n, k) · 2^(weight_scale[n, k/G] - 127), exact.
// scheme: family MX_FP (bits 4: `weight_packed` U8 [N, K/2] of E2M1 nibbles, low nibble first;
// bits 8: `weight` F8_E4M3 [N, K]) or MX_INT (bits 4: `weight_packed` of sign-magnitude E0M4
// nibbles); group_size G > 0 dividing K (AutoRound: 32). weight_scale: U8 [N, K/G] of E8M0.
// Throws incq::host::Error "<layer>: <tensor>...": wrong dtype/shape, E8M0 255 (NaN) or an e4m3 NaN
// code (naming [n, k] / [n, g]), unsupported scheme.
std::vector<double> dequantize_mx(const std::string& layer, const incq_tensor& weight, const incq_tensor& weight_scale,
                                  const incq_scheme& scheme, int64_t K, int64_t N);

// AutoRound's MX RTN (quant_mx) of HF-orientation weights w_nk [N][K]: per block of G along K,
// E = mx_shared_exponent(max|w|), element = mx_round_element(w / 2^E); E8M0 byte E + 127.
// Tensors: "weight_packed" (or "weight" for MXFP8) and "weight_scale", as dequantize_mx reads.
std::vector<PackedTensor> quantize_mx(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme);

// The name of the element tensor of an MX / NV scheme: "weight_packed" for 4-bit, else "weight".
const char* float_weight_tensor_name(const incq_scheme& scheme);

}  // namespace incq::host::quant
