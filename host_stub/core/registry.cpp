#include "core/registry.hpp"

#include <fmt/format.h>

#include <cstddef>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host {

namespace {

// The smallest descriptor a 1.0 plugin can hand us: everything up to and including destroy.
constexpr size_t kMinImplDescSize = offsetof(incq_impl_desc, destroy) + sizeof(void*);

void require_entry(const void* fn, const char* entry, const std::string& impl,
                   const std::string& plugin) {
  if (fn == nullptr)
    throw Error(fmt::format("plugin '{}': implementation '{}': required entry '{}' is NULL", plugin,
                            impl, entry));
}

}  // namespace

void Registry::add(const incq_impl_desc* desc, const std::string& plugin_name) {
  if (desc == nullptr) throw Error(fmt::format("plugin '{}': register_impl with a NULL descriptor", plugin_name));
  if (desc->struct_size < kMinImplDescSize)
    throw Error(fmt::format(
        "plugin '{}': implementation descriptor struct_size {} is smaller than the {} bytes ABI 1.0 requires",
        plugin_name, desc->struct_size, kMinImplDescSize));
  if (desc->name == nullptr || desc->name[0] == '\0')
    throw Error(fmt::format("plugin '{}': implementation descriptor without a name", plugin_name));
  const std::string name = desc->name;
  if (desc->module_kind != INCQ_MODULE_LINEAR && desc->module_kind != INCQ_MODULE_MOE)
    throw Error(fmt::format("plugin '{}': implementation '{}': unknown module_kind {}", plugin_name, name,
                            desc->module_kind));
  require_entry(reinterpret_cast<const void*>(desc->can_implement), "can_implement", name, plugin_name);
  require_entry(reinterpret_cast<const void*>(desc->create), "create", name, plugin_name);
  require_entry(reinterpret_cast<const void*>(desc->set_weights), "set_weights", name, plugin_name);
  require_entry(reinterpret_cast<const void*>(desc->process_weights), "process_weights", name, plugin_name);
  require_entry(reinterpret_cast<const void*>(desc->destroy), "destroy", name, plugin_name);
  if (desc->module_kind == INCQ_MODULE_LINEAR)
    require_entry(reinterpret_cast<const void*>(desc->apply_linear), "apply_linear", name, plugin_name);
  else
    require_entry(reinterpret_cast<const void*>(desc->apply_moe), "apply_moe", name, plugin_name);
  if (desc->num_group_sizes > 0 && desc->group_sizes == nullptr)
    throw Error(fmt::format("plugin '{}': implementation '{}': num_group_sizes {} with NULL group_sizes",
                            plugin_name, name, desc->num_group_sizes));
  for (size_t i = 0; i < impls_.size(); ++i)
    if (impls_[i].name == name)
      throw Error(fmt::format("plugin '{}': implementation '{}' is already registered by plugin '{}'",
                              plugin_name, name, owner_[i]));

  Implementation impl;
  impl.name = name;
  impl.desc = desc;
  impl.group_sizes.assign(desc->group_sizes, desc->group_sizes + desc->num_group_sizes);
  impl.order = next_order_++;
  impls_.push_back(std::move(impl));
  owner_.push_back(plugin_name);
}

void Registry::bind_plugin(const std::string& plugin_name, const std::shared_ptr<Plugin>& plugin) {
  for (size_t i = 0; i < impls_.size(); ++i)
    if (owner_[i] == plugin_name) impls_[i].plugin = plugin;
}

void Registry::remove_plugin(const std::string& plugin_name) {
  for (size_t i = impls_.size(); i-- > 0;) {
    if (owner_[i] == plugin_name) {
      impls_.erase(impls_.begin() + static_cast<std::ptrdiff_t>(i));
      owner_.erase(owner_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

const Implementation* Registry::find(const std::string& name) const {
  for (const auto& impl : impls_)
    if (impl.name == name) return &impl;
  return nullptr;
}

namespace {
std::string list_bits(uint32_t mask, const char* (*name)(int32_t)) {
  std::string out;
  for (int32_t v = 0; v < 32; ++v) {
    if (mask & (1u << v)) {
      if (!out.empty()) out += ",";
      out += name ? name(v) : std::to_string(v);
    }
  }
  return out.empty() ? "none" : out;
}
}  // namespace

std::string describe_capabilities(const incq_impl_desc& d) {
  std::string groups;
  for (size_t i = 0; i < d.num_group_sizes; ++i) groups += (i ? "," : "") + std::to_string(d.group_sizes[i]);
  if (groups.empty()) groups = "any";
  std::string sym;
  if (d.sym_mask & 2u) sym += "sym";
  if (d.sym_mask & 1u) sym += sym.empty() ? "asym" : "+asym";
  return fmt::format("{} {} bits={} group={} {} packing={} act={} device={} priority={}",
                     module_kind_name(d.module_kind), family_name(d.family), list_bits(d.bits_mask, nullptr),
                     groups, sym.empty() ? "-" : sym, list_bits(d.packing_mask, packing_name),
                     list_bits(d.act_dtype_mask, incq::dtype_name), list_bits(d.device_mask, device_type_name),
                     d.priority);
}

}  // namespace incq::host
