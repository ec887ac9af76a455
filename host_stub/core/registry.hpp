// The registry of scheme implementations, filled by plugins during initialize (through the host
// table's register_impl). Order of registration is kept: it breaks ties in selection.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/abi_names.hpp"
#include "core/plugin.hpp"
#include "incq/plugin_api.h"

namespace incq::host {

struct Implementation {
  std::string name;
  std::shared_ptr<Plugin> plugin;  // null only while its plugin is still initializing
  const incq_impl_desc* desc;      // owned by the plugin, valid while the plugin is loaded
  std::vector<int32_t> group_sizes;
  size_t order;                    // registration order across all plugins
};

class Registry {
 public:
  // Validates the descriptor and appends it; throws Error on a malformed one or a duplicate name.
  void add(const incq_impl_desc* desc, const std::string& plugin_name);
  // Binds every implementation registered under plugin_name to the loaded plugin.
  void bind_plugin(const std::string& plugin_name, const std::shared_ptr<Plugin>& plugin);
  // Drops what a plugin registered (its initialize failed after registering some).
  void remove_plugin(const std::string& plugin_name);

  const std::vector<Implementation>& all() const { return impls_; }
  const Implementation* find(const std::string& name) const;

 private:
  std::vector<Implementation> impls_;
  std::vector<std::string> owner_;  // plugin name of impls_[i]
  size_t next_order_ = 0;
};

// Text for a descriptor's capabilities, for `incq plugins`.
std::string describe_capabilities(const incq_impl_desc& d);

}  // namespace incq::host
