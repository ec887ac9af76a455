// Which checkpoint tensors make one quantized projection, by scheme family, and its K x N:
//   INT (GPTQ/AWQ):   qweight, qzeros, scales, [g_idx], [bias]            K, N from qweight
//   FP8:              weight (F8), weight_scale | weight_scale_inv, [bias] N, K = weight's shape
//   MX_FP/MX_INT/NV:  weight_packed (U8, two codes a byte) | weight (F8), weight_scale,
//                     [weight_global_scale], [input_global_scale], [bias]  N = rows, K = cols (x2 packed)
#pragma once

#include <map>
#include <string>

#include "config/quant_config.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host {

struct ProjectionTensors {
  std::string name;  // module name, e.g. model.layers.0.mlp.experts.3.down_proj
  int64_t in_features = 0;
  int64_t out_features = 0;
  std::map<std::string, std::string> tensors;  // role -> full checkpoint tensor name
};

// True when the checkpoint holds the family's main weight tensor for this module
// ("qweight"; an F8 "weight"; "weight_packed" or an F8 "weight").
bool has_quantized_weight(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme);

// Reads the module's tensors for its family. Throws Error naming the file, layer and tensor when a
// required one is missing or the main weight's shape does not fit the scheme.
ProjectionTensors read_projection(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme);

}  // namespace incq::host
