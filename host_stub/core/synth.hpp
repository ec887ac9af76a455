// `incq synth`: writes an AutoRound-format checkpoint (config.json + safetensors) from seeded random
// or given fp32 weights, quantized round-to-nearest exactly as AutoRound does (host_stub/quant),
// each layer with the scheme the config resolves for it — the same resolver the loader uses.
//
// Spec (JSON):
// {
//   "seed": 7,
//   "quantization_config": { ... written verbatim into config.json ... },
//   "num_experts_per_tok": 2,                       (optional, written into config.json)
//   "weights": "dense.safetensors",                 (optional: F32 "<layer>.weight" [out, in])
//   "layers": [
//     {"name": "model.layers.0.self_attn.q_proj", "in_features": 256, "out_features": 256,
//      "bias": true, "g_idx": false, "act_order": false},
//     {"name": "model.layers.0.mlp.experts", "num_experts": 8, "hidden_size": 256,
//      "intermediate_size": 128, "act_order": false, "stacked": false}
//   ]
// }
// A MoE entry writes "<name>.<e>.{gate,up,down}_proj.*"; with "stacked": true it writes
// "<name>.{gate,up,down}_proj.*" with a leading expert dim instead (vLLM FusedMoE's layout). A layer the config keeps dense is
// written as "<name>.weight" (F16, [out, in]).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace incq::host {

struct SynthSummary {
  size_t quantized_layers = 0;
  size_t dense_layers = 0;
  uint64_t bytes = 0;
};

// Throws Error naming the spec field (or layer) that is wrong.
SynthSummary synthesize_checkpoint(const nlohmann::ordered_json& spec, const std::string& out_dir,
                                   const std::string& spec_source);

// The built-in demo: several small checkpoints mixing Linear and MoE layers, bits, group sizes,
// packings, extra_config overrides, act-order g_idx and dense layers. Name -> spec.
std::vector<std::pair<std::string, nlohmann::ordered_json>> demo_specs();

}  // namespace incq::host
