// Which checkpoint tensors make one quantized projection, by scheme family, and its K x N:
//   INT (GPTQ/AWQ):   qweight, qzeros, scales, [g_idx], [bias]            K, N from qweight
//   FP8:              weight (F8), weight_scale | weight_scale_inv, [bias] N, K = weight's shape
//   MX_FP/MX_INT/NV:  weight_packed (U8, two codes a byte) | weight (F8), weight_scale,
//                     [weight_global_scale], [input_global_scale], [bias]  N = rows, K = cols (x2 packed)
// A MoE may also keep its experts stacked, as vLLM's FusedMoE does: "<prefix>.experts.<proj>.<role>"
// with a leading expert dimension [E, <per-expert shape>]. Such a projection names the stacked
// tensors and carries the expert's index; projection_view() hands out expert e's slice, which is
// contiguous (row-major), so it stays a zero-copy view of the mapped file.
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
  int64_t stacked_index = -1;  // the expert index along dim 0 when `tensors` are stacked; else -1
};

// True when the checkpoint holds the family's main weight tensor for this module
// ("qweight"; an F8 "weight"; "weight_packed" or an F8 "weight").
bool has_quantized_weight(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme);

// Reads the module's tensors for its family. Throws Error naming the file, layer and tensor when a
// required one is missing or the main weight's shape does not fit the scheme.
ProjectionTensors read_projection(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme);

// As read_projection, for expert `expert` of stacked tensors "<stacked_module>.<role>". The result is
// named like its per-expert twin (`name`, "<prefix>.experts.<e>.<proj>") and its K x N come from
// the expert's slice, so everything downstream plans it exactly like a per-expert projection. The
// caller (plan_model) checks that every leading dimension is the MoE's expert count.
ProjectionTensors read_stacked_projection(const st::Checkpoint& ckpt, const std::string& stacked_module,
                                          const std::string& name, int64_t expert, const LayerScheme& scheme);

// The checkpoint tensor of a projection's role: the whole tensor, or expert stacked_index's slice
// of a stacked one (shape without the leading dim; a per-expert scalar stacked as [E] reads as [1]).
// Throws Error naming the file and tensor when the role is absent or the index is out of range.
st::TensorView projection_view(const st::Checkpoint& ckpt, const ProjectionTensors& p, const std::string& role);
// projection_view as the ABI's zero-copy incq_tensor: how every bundle, oracle and TP reader gets one.
incq_tensor projection_tensor(const st::Checkpoint& ckpt, const ProjectionTensors& p, const std::string& role);

}  // namespace incq::host
