#include "core/selection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <regex>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host {

namespace {

bool names(const BackendChoice& c, const Implementation& impl) {
  return c.name == impl.name || (impl.plugin && c.name == impl.plugin->name());
}

std::string plugin_name_of(const Implementation& impl) { return impl.plugin ? impl.plugin->name() : "?"; }

const BackendChoice* forced_for(const SelectionPolicy& p, const std::string& layer) {
  if (p.cli_backend) return &*p.cli_backend;
  if (p.env_backend) return &*p.env_backend;
  for (const auto& rule : p.config_layer_backends) {
    // Patterns were validated when the host config was read.
    if (std::regex_search(layer, std::regex(rule.pattern))) return &rule.choice;
  }
  if (p.config_backend) return &*p.config_backend;
  return nullptr;
}

bool is_auto(const BackendChoice& c) { return c.name.empty() || c.name == "auto"; }

const Candidate* best(const std::vector<Candidate>& cands, const BackendChoice* restrict_to) {
  const Candidate* out = nullptr;
  for (const auto& c : cands) {
    if (!c.accepted) continue;
    if (restrict_to && !names(*restrict_to, *c.impl)) continue;
    if (out == nullptr || c.impl->desc->priority > out->impl->desc->priority ||
        (c.impl->desc->priority == out->impl->desc->priority && c.impl->order < out->impl->order))
      out = &c;
  }
  return out;
}

std::string rejections(const std::vector<Candidate>& cands, const BackendChoice* only) {
  std::string out;
  for (const auto& c : cands) {
    if (c.accepted || (only && !names(*only, *c.impl))) continue;
    out += fmt::format("\n  - {} ({}): {}", c.impl->name, plugin_name_of(*c.impl), c.reason);
  }
  return out;
}

}  // namespace

std::string descriptor_mismatch(const Implementation& impl, const incq_layer_desc& desc, const incq_device& device) {
  const incq_impl_desc& d = *impl.desc;
  const incq_scheme& s = desc.scheme;
  if (d.module_kind != desc.module_kind)
    return fmt::format("serves {} modules, not {}", module_kind_name(d.module_kind), module_kind_name(desc.module_kind));
  if (!(d.device_mask & INCQ_BIT(device.type))) return fmt::format("does not run on device type {}", device_type_name(device.type));
  if (d.family != s.family) return fmt::format("serves scheme family {}, not {}", family_name(d.family), family_name(s.family));
  if (s.bits < 0 || s.bits > 31 || !(d.bits_mask & INCQ_BIT(s.bits))) return fmt::format("does not support {} bits", s.bits);
  if (!(d.sym_mask & (s.sym ? 2u : 1u))) return s.sym ? "does not support symmetric weights" : "does not support asymmetric weights";
  if (s.packing < 0 || s.packing > 31 || !(d.packing_mask & INCQ_BIT(s.packing)))
    return fmt::format("does not read packing {}", packing_name(s.packing));
  if (desc.act_dtype < 0 || desc.act_dtype > 31 || !(d.act_dtype_mask & INCQ_BIT(desc.act_dtype)))
    return fmt::format("does not accept {} activations", incq::dtype_name(desc.act_dtype));
  if (!impl.group_sizes.empty() &&
      std::find(impl.group_sizes.begin(), impl.group_sizes.end(), s.group_size) == impl.group_sizes.end())
    return fmt::format("does not support group size {}", s.group_size);
  return "";
}

Selection select_implementation(const Registry& registry, const incq_layer_desc& desc, const incq_device& device,
                                const SelectionPolicy& policy) {
  Selection sel = try_select_implementation(registry, desc, device, policy);
  if (sel.chosen == nullptr) throw Error(sel.error);
  return sel;
}

Selection try_select_implementation(const Registry& registry, const incq_layer_desc& desc, const incq_device& device,
                                    const SelectionPolicy& policy) {
  const std::string layer = desc.name ? desc.name : "?";
  Selection sel;
  for (const auto& impl : registry.all()) {
    if (impl.desc->module_kind != desc.module_kind) continue;
    Candidate c;
    c.impl = &impl;
    const auto off = std::find_if(policy.disabled.begin(), policy.disabled.end(),
                                  [&](const BackendChoice& b) { return names(b, impl); });
    if (off != policy.disabled.end()) {
      c.reason = "disabled by " + off->source;
    } else if (!impl.plugin) {
      c.reason = "plugin not loaded";
    } else if (const Availability& a = impl.plugin->availability(device.type); !a.available) {
      c.reason = fmt::format("plugin '{}' is not usable on {}: {}", impl.plugin->name(), device_type_name(device.type),
                             a.detail);
    } else if (std::string why = descriptor_mismatch(impl, desc, device); !why.empty()) {
      c.reason = why;
    } else {
      incq_error reason{};
      reason.struct_size = sizeof reason;
      const incq_status st = impl.desc->can_implement(impl.desc->impl_ctx, &desc, &device, &reason);
      if (st == INCQ_OK) {
        c.accepted = true;
      } else {
        const std::string text(reason.message, strnlen(reason.message, sizeof reason.message));
        c.reason = text.empty() ? fmt::format("can_implement said no (status {})", static_cast<int>(st)) : text;
      }
    }
    sel.candidates.push_back(std::move(c));
  }

  if (const BackendChoice* forced = forced_for(policy, layer); forced && !is_auto(*forced)) {
    const bool known = std::any_of(registry.all().begin(), registry.all().end(),
                                   [&](const Implementation& i) { return names(*forced, i); });
    if (!known) {
      sel.error = fmt::format("layer '{}': backend '{}' (from {}) names no loaded plugin or implementation", layer,
                              forced->name, forced->source);
      return sel;
    }
    const Candidate* c = best(sel.candidates, forced);
    if (c == nullptr) {
      const std::string why = rejections(sel.candidates, forced);
      sel.error = fmt::format("layer '{}': backend '{}' (from {}) cannot run this layer:{}", layer, forced->name,
                              forced->source,
                              why.empty() ? std::string("\n  - it has no implementation for this module kind") : why);
      return sel;
    }
    sel.chosen = c->impl;
    sel.how = "forced by " + forced->source;
    return sel;
  }

  if (policy.checkpoint_backend && !is_auto(*policy.checkpoint_backend)) {
    if (const Candidate* c = best(sel.candidates, &*policy.checkpoint_backend)) {
      sel.chosen = c->impl;
      sel.how = "preferred by " + policy.checkpoint_backend->source;
      return sel;
    }
  }

  const Candidate* c = best(sel.candidates, nullptr);
  if (c == nullptr) {
    std::string why = rejections(sel.candidates, nullptr);
    if (why.empty()) why = "\n  - no loaded plugin registers an implementation for this module kind";
    for (const auto& note : policy.unloaded_plugins) why += "\n  - not loaded: " + note;
    sel.error = fmt::format("layer '{}': no implementation can run it:{}", layer, why);
    return sel;
  }
  sel.chosen = c->impl;
  sel.how = fmt::format("highest priority ({})", c->impl->desc->priority);
  if (policy.checkpoint_backend && !is_auto(*policy.checkpoint_backend))
    sel.how += fmt::format("; {} '{}' is not usable here", policy.checkpoint_backend->source,
                           policy.checkpoint_backend->name);
  return sel;
}

}  // namespace incq::host
