// Finds, loads, version-checks and initializes plugins. A plugin that fails any step is unloaded
// and reported with the reason; the others keep working (ABI rule 12).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/plugin.hpp"
#include "core/registry.hpp"

namespace incq::host {

using OptionMap = std::map<std::string, std::string>;

struct LoadFailure {
  std::string path;
  std::string reason;
};

// Plugins that were found but deliberately not initialized (disabled by configuration).
struct SkippedPlugin {
  std::string path;
  std::string name;
  std::string reason;
};

class PluginSet {
 public:
  PluginSet();
  ~PluginSet();  // drops the registry first, then unloads plugins no layer still holds

  // Loads every libincq_*.so in dir (sorted by file name). A missing dir is not an error.
  void load_dir(const std::string& dir);
  // Loads one file. Returns the plugin, or nullptr with the reason appended to failures().
  std::shared_ptr<Plugin> load_file(const std::string& path);

  // Plugin-level options handed to initialize, by plugin name.
  void set_plugin_options(std::map<std::string, OptionMap> options) { options_ = std::move(options); }
  // Plugin names that are found but not initialized.
  void set_disabled(std::set<std::string> names, std::string source) {
    disabled_ = std::move(names);
    disabled_source_ = std::move(source);
  }

  const std::vector<std::shared_ptr<Plugin>>& plugins() const { return plugins_; }
  const std::vector<LoadFailure>& failures() const { return failures_; }
  const std::vector<SkippedPlugin>& skipped() const { return skipped_; }
  const Registry& registry() const { return registry_; }
  Registry& registry() { return registry_; }

 private:
  std::shared_ptr<Plugin> load_file_or_throw(const std::string& path);

  Registry registry_;
  std::vector<std::shared_ptr<Plugin>> plugins_;
  std::vector<LoadFailure> failures_;
  std::vector<SkippedPlugin> skipped_;
  std::map<std::string, OptionMap> options_;
  std::set<std::string> disabled_;
  std::string disabled_source_;
};

// Default plugin directories, in search order: the install location (<prefix>/lib/incq/plugins,
// relative to the running executable, then the configured prefix), then the build tree when the
// running executable lives inside it.
std::vector<std::string> default_plugin_dirs();

}  // namespace incq::host
