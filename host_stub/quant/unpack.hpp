// The oracle's own reading of integer checkpoint tensors, written from DESIGN §4 independently
// of any plugin: if a plugin and this reader disagree, one of them misreads the format.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "incq/plugin_api.h"
#include "quant/int_weights.hpp"

namespace incq::host::quant {

// Reads qweight / qzeros / scales / g_idx (nullable) of one Linear. Tensors are CPU views, any
// strides, possibly unaligned. Validates the arguments against the packing's limits, every
// tensor's dtype, rank and shape, that a symmetric layer's zeros are 2^(bits-1) (this is what
// catches a v1/v2 mix-up), finite scales and g_idx in [0, groups). Groups are ceil(K/G), except
// that with a g_idx they are the rows scales stores when qzeros stores as many (an act-order
// row-parallel shard keeps every group of the full matrix). Throws incq::host::Error
// whose message starts with layer_name and names the tensor and field, e.g.
//   "model.layers.0.mlp.up_proj: scales: shape [3, 64], expected [4, 64] (ceil(K/G) x N)"
//   "model.layers.0.mlp.up_proj: scales[2, 5] is NaN"
// GPTQ v1 zeros read as stored + 1 (so a stored 2^b - 1 is the zero 2^b, as GPTQ v1 readers do).
IntWeights unpack_int(const std::string& layer_name, const incq_tensor& qweight, const incq_tensor& qzeros,
                      const incq_tensor& scales, const incq_tensor* g_idx, int64_t K, int64_t N, int bits,
                      int group_size, bool sym, incq_packing packing);

// K and N of a layer from its qweight shape (GPTQ: K = rows*32/bits, N = cols; AWQ: K = rows,
// N = cols*8). Throws incq::host::Error when the shape cannot come from that packing.
std::pair<int64_t, int64_t> infer_kn(const std::vector<int64_t>& qweight_shape, int bits, incq_packing packing);

}  // namespace incq::host::quant
