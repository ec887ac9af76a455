#include "core/inspect.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "core/act_quant_override.hpp"
#include "incq/plugin_helpers.hpp"
#include "opencl/device_path.hpp"
#include "opencl/fallback_note.hpp"

namespace incq::host {

SelectionPolicy policy_for_model(const Host& host, const QuantConfig& config) {
  SelectionPolicy p = host.settings().policy;
  const std::string b = config.backend();
  if (!b.empty()) p.checkpoint_backend = BackendChoice{b, fmt::format("{} quantization_config.backend", config.source())};
  return p;
}

ModelInspection inspect_model(Host& host, const std::string& model_dir, int32_t act_dtype) {
  ModelInspection r;
  const QuantConfig config = QuantConfig::from_model_dir(model_dir);
  const auto ckpt = st::Checkpoint::open(model_dir);
  r.plan = plan_model(*ckpt, config);
  apply_act_quant_rules(r.plan, host.settings().act_quant);
  r.checkpoint_backend = config.backend();
  const SelectionPolicy policy = policy_for_model(host, config);
  const incq_device device = host.device();
  r.modules.reserve(r.plan.modules.size());
  for (const auto& m : r.plan.modules) {
    ModuleInspection mi;
    mi.module = &m;
    const incq_layer_desc desc = layer_desc_for(m, act_dtype);
    mi.selection = try_select_implementation(host.plugins().registry(), desc, device, policy);
    mi.options = options_for_layer(policy.layer_options, m.name);
    if (mi.selection.chosen == nullptr && device.type == INCQ_DEVICE_OPENCL) {
      // As verify does: a layer no OpenCL implementation serves runs on the CPU, visibly.
      Selection cpu = try_select_implementation(host.plugins().registry(), desc, opencl::DevicePath::cpu_device(), policy);
      if (cpu.chosen != nullptr) {
        cpu.how = opencl::fallback_note(mi.selection) + "; " + cpu.how;
        mi.selection = std::move(cpu);
      }
    }
    r.modules.push_back(std::move(mi));
  }
  return r;
}

namespace {
std::string sizes(const ModulePlan& m) {
  if (m.kind == INCQ_MODULE_MOE)
    return fmt::format("E={} H={} I={}", m.num_experts, m.hidden_size, m.intermediate_size);
  return fmt::format("K={} N={}", m.projections[0].in_features, m.projections[0].out_features);
}
}  // namespace

nlohmann::ordered_json to_json(const ModelInspection& r) {
  nlohmann::ordered_json j;
  j["model_dir"] = r.plan.dir;
  j["checkpoint_backend"] = r.checkpoint_backend;
  j["modules"] = nlohmann::ordered_json::array();
  for (const auto& mi : r.modules) {
    const ModulePlan& m = *mi.module;
    nlohmann::ordered_json e;
    e["name"] = m.name;
    e["kind"] = module_kind_name(m.kind);
    e["scheme"] = m.scheme.describe();
    e["rule"] = m.scheme.rule;
    e["sizes"] = sizes(m);
    e["has_g_idx"] = m.has_g_idx;
    e["has_bias"] = m.has_bias;
    e["packed_bytes"] = m.packed_bytes;
    if (mi.selection.chosen) {
      e["chosen"] = mi.selection.chosen->name;
      e["plugin"] = mi.selection.chosen->plugin ? mi.selection.chosen->plugin->name() : "";
      e["how"] = mi.selection.how;
      e["options"] = mi.options;
    } else {
      e["chosen"] = nullptr;
      e["error"] = mi.selection.error;
    }
    e["rejected"] = nlohmann::ordered_json::array();
    for (const auto& c : mi.selection.candidates)
      if (!c.accepted) e["rejected"].push_back({{"implementation", c.impl->name}, {"reason", c.reason}});
    j["modules"].push_back(std::move(e));
  }
  j["dense"] = nlohmann::ordered_json::array();
  for (const auto& d : r.plan.dense) j["dense"].push_back({{"name", d.name}, {"rule", d.rule}});
  return j;
}

std::string to_text(const ModelInspection& r) {
  std::string out = fmt::format("model {}\n", r.plan.dir);
  if (!r.checkpoint_backend.empty()) out += fmt::format("checkpoint backend preference: {}\n", r.checkpoint_backend);
  for (const auto& mi : r.modules) {
    const ModulePlan& m = *mi.module;
    out += fmt::format("{} [{} {}]\n  scheme: {}  ({})\n", m.name, module_kind_name(m.kind), sizes(m),
                       m.scheme.describe(), m.scheme.rule);
    if (mi.selection.chosen)
      out += fmt::format("  chosen: {}  ({})\n", mi.selection.chosen->name, mi.selection.how);
    if (mi.selection.chosen && !mi.options.empty()) {
      out += "  options:";
      for (const auto& [k, v] : mi.options) out += fmt::format(" {}={}", k, v);
      out += "\n";
    }
    if (!mi.selection.chosen)
      out += fmt::format("  ERROR: {}\n", mi.selection.error);
    for (const auto& c : mi.selection.candidates)
      if (!c.accepted) out += fmt::format("  rejected: {}: {}\n", c.impl->name, c.reason);
  }
  for (const auto& d : r.plan.dense) out += fmt::format("{} [dense]  ({})\n", d.name, d.rule);
  return out;
}

}  // namespace incq::host
