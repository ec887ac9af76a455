// Turns a checkpoint directory into the list of quantized modules the host will hand to plugins:
// Linear layers and MoE blocks ("<prefix>.experts.<e>.<proj>.*"), of any scheme family,
// each with its resolved scheme and its sizes, plus the layers that stay dense and why.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "core/projection_tensors.hpp"
#include "incq/plugin_api.h"
#include "safetensors/safetensors.hpp"

namespace incq::host {

struct ModulePlan {
  int32_t kind = INCQ_MODULE_LINEAR;
  std::string name;  // Linear: module name; MoE: "<prefix>.experts"
  LayerScheme scheme;
  // Linear: exactly one projection. MoE: num_experts x {gate_proj, up_proj, down_proj}, in order.
  std::vector<ProjectionTensors> projections;
  int64_t num_experts = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int top_k = 0;  // MoE: config.json num_experts_per_tok (else 2), capped at num_experts
  bool has_bias = false;
  bool has_g_idx = false;
  uint64_t packed_bytes = 0;  // checkpoint bytes of every tensor the module owns
};

struct DenseLayer {
  std::string name;
  std::string rule;
};

struct ModelPlan {
  std::string dir;
  std::vector<ModulePlan> modules;
  std::vector<DenseLayer> dense;
};

// Throws Error naming the layer and tensor when the checkpoint disagrees with the config
// (a qweight in a layer the config keeps dense, a missing tensor, sizes that do not fit the bits,
// experts with missing projections ...).
ModelPlan plan_model(const st::Checkpoint& ckpt, const QuantConfig& config);

// The ABI layer description of a module (names point into `plan`; valid while it lives).
incq_layer_desc layer_desc_for(const ModulePlan& plan, int32_t act_dtype);

}  // namespace incq::host
