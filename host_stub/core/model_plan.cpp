#include "core/model_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/error.hpp"

namespace incq::host {

namespace {

const char* const kProjections[] = {"gate_proj", "up_proj", "down_proj"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t bytes_of(const st::Checkpoint& ckpt, const ProjectionTensors& p) {
  uint64_t total = 0;
  // A stacked tensor counts once per expert slice, so the sum over experts is its size.
  for (const auto& [role, name] : p.tensors) total += projection_view(ckpt, p, role).nbytes;
  return total;
}

// Experts per token, as the model config says (Qwen/Mixtral/DeepSeek all write num_experts_per_tok).
int configured_top_k(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  if (!in) return 0;
  try {
    const auto j = nlohmann::json::parse(in);
    if (j.contains("num_experts_per_tok") && j["num_experts_per_tok"].is_number_integer())
      return j["num_experts_per_tok"].get<int>();
  } catch (const std::exception&) {
    // QuantConfig::from_model_dir already reported an unreadable config.json.
  }
  return 0;
}

// Why a layer the config would quantize is kept dense: its checkpoint has no quantized weight
// tensor for that scheme (AutoRound saves e.g. a "quantized" lm_head as plain BF16).
std::string dense_reason(const LayerScheme& s) {
  const char* missing = s.scheme.family == INCQ_FAMILY_INT ? "no qweight" : "no quantized weight tensor";
  return fmt::format("dense in the checkpoint ({}), though the config would quantize it as {}: served by the host as "
                     "a dense layer", missing, s.describe());
}

}  // namespace

ModelPlan plan_model(const st::Checkpoint& ckpt, const QuantConfig& config) {
  ModelPlan plan;
  plan.dir = ckpt.dir();
  static const std::regex expert_re(R"(^(.*\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)$)");
  // Experts pre-fused along a leading expert dim, as vLLM's FusedMoE keeps them.
  static const std::regex stacked_re(R"(^(.*\.experts)\.(gate_proj|up_proj|down_proj)$)");

  std::vector<std::string> linear_names;
  std::map<std::string, std::map<int64_t, std::set<std::string>>> moe_parts;  // prefix -> expert -> projections
  std::map<std::string, std::set<std::string>> stacked_parts;                   // prefix -> stacked projections
  std::vector<std::string> all_layer_names;
  std::set<std::string> quantized_modules;

  // Every module with a weight-like tensor: "qweight" (GPTQ/AWQ), "weight_packed" (MX/NV 4-bit) or
  // a 2-D "weight" (dense, FP8, MXFP8). The config decides what it is; the tensors must agree.
  std::set<std::string> seen;
  for (const auto& tname : ckpt.tensor_names()) {
    const char* suffix = ends_with(tname, ".qweight") ? ".qweight"
                         : ends_with(tname, ".weight_packed") ? ".weight_packed"
                         : ends_with(tname, ".weight") ? ".weight" : nullptr;
    if (suffix == nullptr) continue;
    const std::string module = tname.substr(0, tname.size() - std::strlen(suffix));
    if (!seen.insert(module).second) continue;
    std::smatch sm;
    const bool stacked = std::regex_match(module, sm, stacked_re);
    if (std::strcmp(suffix, ".weight") == 0 && !ckpt.find(module + ".qweight") && !ckpt.find(module + ".weight_packed") &&
        ckpt.find(tname)->shape.size() != (stacked ? 3u : 2u))
      continue;  // norms and other 1-D weights are not layers
    // A stacked projection takes the scheme its experts would have as "<prefix>.experts.<e>.<proj>".
    const LayerScheme s = config.resolve(stacked ? fmt::format("{}.0.{}", sm.str(1), sm.str(2)) : module);
    all_layer_names.push_back(module);
    const bool has_qweight = ckpt.find(module + ".qweight") != nullptr;
    if (!s.quantized && !has_qweight) {
      plan.dense.push_back({module, s.rule});
      continue;
    }
    if (s.quantized && !has_qweight && !has_quantized_weight(ckpt, module, s)) {
      plan.dense.push_back({module, dense_reason(s)});
      continue;
    }
    quantized_modules.insert(module);
    std::smatch m;
    if (std::regex_match(module, m, expert_re)) {
      moe_parts[m[1]][std::stoll(m[2])].insert(m[3]);
    } else if (stacked) {
      stacked_parts[sm[1]].insert(sm[2]);
    } else {
      linear_names.push_back(module);
    }
  }
  // One MoE runs as one implementation, so its experts must share a scheme. Fused q/k/v and
  // gate/up may mix schemes: the host runs such a module as parts (core/fused_modules.hpp).
  std::vector<std::string> expert_names;
  for (const auto& n : all_layer_names)
    if (std::regex_match(n, expert_re)) expert_names.push_back(n);
  config.check_fused(expert_names);

  auto check_int = [&](const std::string& module, const LayerScheme& s) {
    const bool has_qweight = ckpt.find(module + ".qweight") != nullptr;
    if (!s.quantized)
      throw Error(fmt::format("{}: layer '{}' has a tensor '{}.qweight' but the quantization config keeps it dense ({})",
                              ckpt.dir(), module, module, s.rule));
    if (has_qweight && s.scheme.family != INCQ_FAMILY_INT)
      throw Error(fmt::format("{}: layer '{}' has GPTQ/AWQ-style tensors (qweight) but the config resolves it to {}",
                              ckpt.dir(), module, s.describe()));
    if (!has_qweight && s.scheme.family == INCQ_FAMILY_INT)
      throw Error(fmt::format("{}: layer '{}': the config resolves it to {} but the checkpoint has no '{}.qweight'",
                              ckpt.dir(), module, s.describe(), module));
  };

  for (const auto& module : linear_names) {
    ModulePlan mp;
    mp.kind = INCQ_MODULE_LINEAR;
    mp.name = module;
    mp.scheme = config.resolve(module);
    check_int(module, mp.scheme);
    mp.projections.push_back(read_projection(ckpt, module, mp.scheme));
    mp.has_bias = mp.projections[0].tensors.count("bias") > 0;
    mp.has_g_idx = mp.projections[0].tensors.count("g_idx") > 0;
    mp.packed_bytes = bytes_of(ckpt, mp.projections[0]);
    plan.modules.push_back(std::move(mp));
  }

  // One MoE, per-expert or stacked alike: `read` gives expert e's projection (checked against the
  // config), the rest is shared, so both layouts plan to the same ModulePlan.
  using ReadExpert = std::function<ProjectionTensors(int64_t e, const char* proj, const LayerScheme& s)>;
  auto plan_moe = [&](const std::string& prefix, int64_t num, const ReadExpert& read) {
    ModulePlan mp;
    mp.kind = INCQ_MODULE_MOE;
    mp.name = prefix;
    mp.num_experts = num;
    const int k = configured_top_k(ckpt.dir());
    mp.top_k = static_cast<int>(std::min<int64_t>(k > 0 ? k : 2, num));
    mp.scheme = config.resolve(prefix + ".0.gate_proj");
    for (int64_t e = 0; e < num; ++e) {
      for (const char* proj : kProjections) {
        ProjectionTensors p = read(e, proj, config.resolve(fmt::format("{}.{}.{}", prefix, e, proj)));
        if (p.tensors.count("bias"))
          throw Error(fmt::format("{}: MoE '{}': tensor '{}' — expert biases are not part of the gated-SiLU MoE contract",
                                  ckpt.dir(), prefix, p.tensors["bias"]));
        mp.has_g_idx = mp.has_g_idx || p.tensors.count("g_idx") > 0;
        mp.packed_bytes += bytes_of(ckpt, p);
        mp.projections.push_back(std::move(p));
      }
    }
    const auto& gate0 = mp.projections[0];
    mp.hidden_size = gate0.in_features;
    mp.intermediate_size = gate0.out_features;
    for (size_t i = 0; i < mp.projections.size(); ++i) {
      const auto& p = mp.projections[i];
      const bool down = (i % 3) == 2;
      const int64_t want_in = down ? mp.intermediate_size : mp.hidden_size;
      const int64_t want_out = down ? mp.hidden_size : mp.intermediate_size;
      if (p.in_features != want_in || p.out_features != want_out)
        throw Error(fmt::format("{}: MoE '{}': '{}' is {} -> {} but expert 0 gate_proj makes it {} -> {}", ckpt.dir(),
                                prefix, p.name, p.in_features, p.out_features, want_in, want_out));
    }
    plan.modules.push_back(std::move(mp));
  };

  for (const auto& [prefix, projs] : stacked_parts) {
    // One layout per MoE: a stacked tensor and a per-expert one could both claim the same expert.
    if (moe_parts.count(prefix))
      throw Error(fmt::format("{}: MoE '{}' mixes stacked expert tensors ('{}.{}.*') with per-expert ones ('{}.<e>.*'); "
                              "a MoE keeps its experts one way", ckpt.dir(), prefix, prefix, *projs.begin(), prefix));
  }

  for (const auto& [prefix, experts] : moe_parts) {
    const int64_t num = experts.rbegin()->first + 1;
    for (int64_t e = 0; e < num; ++e) {
      auto it = experts.find(e);
      for (const char* proj : kProjections) {
        if (it == experts.end() || !it->second.count(proj)) {
          const std::string module = fmt::format("{}.{}.{}", prefix, e, proj);
          const int32_t family = config.resolve(module).scheme.family;
          const char* main = family == INCQ_FAMILY_INT ? "qweight" : family == INCQ_FAMILY_FP8 ? "weight" : "weight_packed";
          throw Error(fmt::format("{}: MoE '{}': expert {} has no quantized {} ('{}.{}' missing; experts 0..{} are "
                                  "expected)", ckpt.dir(), prefix, e, proj, module, main, num - 1));
        }
      }
    }
    plan_moe(prefix, num, [&](int64_t e, const char* proj, const LayerScheme& s) {
      const std::string module = fmt::format("{}.{}.{}", prefix, e, proj);
      check_int(module, s);
      return read_projection(ckpt, module, s);
    });
  }

  for (const auto& [prefix, projs] : stacked_parts) {
    for (const char* proj : kProjections)
      if (!projs.count(proj))
        throw Error(fmt::format("{}: MoE '{}': the experts are stacked but there is no quantized '{}.{}' (stacked "
                                "gate_proj, up_proj and down_proj are expected)", ckpt.dir(), prefix, prefix, proj));
    // The expert count is gate_proj's leading dim; every role tensor of all three must stack as many,
    // since each expert's slice is read from the same index of each.
    std::vector<std::string> names;
    std::vector<ProjectionTensors> first;
    for (const char* proj : kProjections) {
      const std::string stacked = prefix + "." + proj, name = fmt::format("{}.0.{}", prefix, proj);
      const LayerScheme s = config.resolve(name);
      check_int(stacked, s);
      first.push_back(read_stacked_projection(ckpt, stacked, name, 0, s));
    }
    const auto& gate = first[0].tensors;
    const st::TensorView* lead =
        ckpt.find(gate.count("qweight") ? gate.at("qweight") : gate.count("weight") ? gate.at("weight") : gate.at("weight_packed"));
    const int64_t num = lead->shape[0];
    for (const auto& p : first)
      for (const auto& [role, tname] : p.tensors) {
        const st::TensorView* t = ckpt.find(tname);
        if (t->shape.empty() || t->shape[0] != num)
          throw Error(fmt::format("{}: MoE '{}': stacked tensor '{}' has leading dimension {}, but '{}' stacks {} "
                                  "experts", t->file, prefix, tname, t->shape.empty() ? 0 : t->shape[0], lead->name,
                                  num));
      }
    for (int64_t e = 0; e < num; ++e)
      for (const char* proj : kProjections) names.push_back(fmt::format("{}.{}.{}", prefix, e, proj));
    config.check_fused(names);  // one stacked tensor is one scheme: the config must agree for every expert
    plan_moe(prefix, num, [&](int64_t e, const char* proj, const LayerScheme& s) {
      return read_stacked_projection(ckpt, prefix + "." + proj, fmt::format("{}.{}.{}", prefix, e, proj), e, s);
    });
  }
  return plan;
}

incq_layer_desc layer_desc_for(const ModulePlan& plan, int32_t act_dtype) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = plan.kind;
  d.name = plan.name.c_str();
  d.scheme = plan.scheme.scheme;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.has_g_idx = plan.has_g_idx ? 1 : 0;
  d.act_dtype = act_dtype;
  d.has_bias = plan.has_bias ? 1 : 0;
  if (plan.kind == INCQ_MODULE_LINEAR) {
    d.in_features = plan.projections[0].in_features;
    d.out_features = plan.projections[0].out_features;
  } else {
    d.num_experts = plan.num_experts;
    d.hidden_size = plan.hidden_size;
    d.intermediate_size = plan.intermediate_size;
    d.top_k = plan.top_k;
    d.in_features = plan.hidden_size;
    d.out_features = plan.hidden_size;
  }
  return d;
}

}  // namespace incq::host
