#include "core/model_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/unpack.hpp"

namespace incq::host {

namespace {

const char* const kProjections[] = {"gate_proj", "up_proj", "down_proj"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Reads one quantized projection: its tensors and its K x N from the qweight shape.
ProjectionTensors read_projection(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme) {
  ProjectionTensors p;
  p.name = module;
  for (const char* role : {"qweight", "qzeros", "scales", "g_idx", "bias"}) {
    const std::string full = module + "." + role;
    if (ckpt.find(full)) p.tensors[role] = full;
  }
  for (const char* required : {"qweight", "qzeros", "scales"})
    if (!p.tensors.count(required))
      throw Error(fmt::format("{}: layer '{}': missing tensor '{}.{}' required by {}", ckpt.dir(), module, module,
                              required, scheme.describe()));
  const st::TensorView* qw = ckpt.find(p.tensors["qweight"]);
  if (qw->shape.size() != 2)
    throw Error(fmt::format("{}: layer '{}': tensor '{}' has shape {}, expected 2 dimensions", qw->file, module, qw->name,
                            shape_text(qw->shape)));
  try {
    auto [k, n] = quant::infer_kn(qw->shape, scheme.scheme.bits, static_cast<incq_packing>(scheme.scheme.packing));
    p.in_features = k;
    p.out_features = n;
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: layer '{}': tensor '{}' shape {} does not fit {}: {}", qw->file, module, qw->name,
                            shape_text(qw->shape), scheme.describe(), e.what()));
  }
  return p;
}

uint64_t bytes_of(const st::Checkpoint& ckpt, const ProjectionTensors& p) {
  uint64_t total = 0;
  for (const auto& [role, name] : p.tensors) total += ckpt.find(name)->nbytes;
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

// Why a layer without GPTQ/AWQ tensors is not handed to a plugin. A quantized FP8 / MX / NV layer
// must not read as "served as dense": its weight is not usable without its scales.
std::string dense_reason(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& s) {
  if (!s.quantized) return s.rule;
  if (s.scheme.family == INCQ_FAMILY_INT)
    return "dense in the checkpoint (no qweight), though the config would quantize it as " + s.describe() +
           ": served by the host as a dense layer";
  std::string tensors;
  for (const auto& name : ckpt.tensor_names())
    if (name.rfind(module + ".", 0) == 0 && name.find('.', module.size() + 1) == std::string::npos) {
      const st::TensorView* t = ckpt.find(name);
      tensors += fmt::format("{}{} {} {}", tensors.empty() ? "" : ", ", name.substr(module.size() + 1),
                             incq::dtype_name(t->dtype), shape_text(t->shape));
    }
  return fmt::format("not supported yet: {} ({}): incq plans only GPTQ/AWQ integer tensors (qweight), so no "
                     "plugin is offered this layer and the host cannot run it", s.describe(), tensors);
}

}  // namespace

ModelPlan plan_model(const st::Checkpoint& ckpt, const QuantConfig& config) {
  ModelPlan plan;
  plan.dir = ckpt.dir();
  static const std::regex expert_re(R"(^(.*\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)$)");

  std::vector<std::string> linear_names;
  std::map<std::string, std::map<int64_t, std::set<std::string>>> moe_parts;  // prefix -> expert -> projections
  std::vector<std::string> all_layer_names;
  std::set<std::string> quantized_modules;

  for (const auto& tname : ckpt.tensor_names()) {
    if (!ends_with(tname, ".qweight")) continue;
    const std::string module = tname.substr(0, tname.size() - 8);
    quantized_modules.insert(module);
    all_layer_names.push_back(module);
    std::smatch m;
    if (std::regex_match(module, m, expert_re)) {
      moe_parts[m[1]][std::stoll(m[2])].insert(m[3]);
    } else {
      linear_names.push_back(module);
    }
  }
  // Layers with a 2-D "weight" (dense, or FP8 e4m3) or "weight_packed" (llm_compressor MX/NV FP4,
  // MXINT4): not handed to a plugin. Only reported, with the reason; the host owns dense ones.
  for (const auto& tname : ckpt.tensor_names()) {
    const char* suffix = ends_with(tname, ".weight") ? ".weight" : ends_with(tname, ".weight_packed") ? ".weight_packed" : nullptr;
    if (suffix == nullptr) continue;
    const std::string module = tname.substr(0, tname.size() - std::strlen(suffix));
    if (quantized_modules.count(module) || ckpt.find(tname)->shape.size() != 2) continue;
    const LayerScheme s = config.resolve(module);
    plan.dense.push_back({module, dense_reason(ckpt, module, s)});
    all_layer_names.push_back(module);
  }
  config.check_fused(all_layer_names);

  auto check_int = [&](const std::string& module, const LayerScheme& s) {
    if (!s.quantized)
      throw Error(fmt::format("{}: layer '{}' has a tensor '{}.qweight' but the quantization config keeps it dense ({})",
                              ckpt.dir(), module, module, s.rule));
    if (s.scheme.family != INCQ_FAMILY_INT)
      throw Error(fmt::format("{}: layer '{}' has GPTQ/AWQ-style tensors (qweight) but the config resolves it to {}",
                              ckpt.dir(), module, s.describe()));
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

  for (const auto& [prefix, experts] : moe_parts) {
    ModulePlan mp;
    mp.kind = INCQ_MODULE_MOE;
    mp.name = prefix;
    const int64_t num = experts.rbegin()->first + 1;
    for (int64_t e = 0; e < num; ++e) {
      auto it = experts.find(e);
      for (const char* proj : kProjections) {
        if (it == experts.end() || !it->second.count(proj))
          throw Error(fmt::format("{}: MoE '{}': expert {} has no quantized {} ('{}.{}.{}.qweight' missing; experts 0..{} "
                                  "are expected)", ckpt.dir(), prefix, e, proj, prefix, e, proj, num - 1));
      }
    }
    mp.num_experts = num;
    const int k = configured_top_k(ckpt.dir());
    mp.top_k = static_cast<int>(std::min<int64_t>(k > 0 ? k : 2, num));
    mp.scheme = config.resolve(prefix + ".0.gate_proj");
    for (int64_t e = 0; e < num; ++e) {
      for (const char* proj : kProjections) {
        const std::string module = fmt::format("{}.{}.{}", prefix, e, proj);
        const LayerScheme s = config.resolve(module);
        check_int(module, s);
        ProjectionTensors p = read_projection(ckpt, module, s);
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
