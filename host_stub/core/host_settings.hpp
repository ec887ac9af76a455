// Everything the host is told by configuration keys, merged with this precedence:
// command line > environment (INCQ_PLUGIN_PATH, INCQ_BACKEND, INCQ_DISABLE, INCQ_CONFIG) > host
// config file (JSON) > the checkpoint's quantization_config.backend > automatic.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_loader.hpp"
#include "core/selection.hpp"

namespace incq::host {

struct CommandLineSettings {
  std::vector<std::string> plugin_dirs;
  std::optional<std::string> backend;
  std::vector<std::string> disable;
  std::optional<std::string> config_file;
  std::optional<std::string> device;
  std::optional<int> threads;
  bool no_default_plugin_dirs = false;
  std::optional<std::string> act_quant;  // "int8": run integer weight-only layers as W4A8
  std::vector<std::string> layer_options;  // KEY=VALUE for every layer's implementation
};

// Turns matching integer weight-only layers into dynamic per-token int8 activation layers (W4A8),
// the user's choice for a W4A16 checkpoint. Mode "none" keeps them weight-only.
struct ActQuantRule {
  std::string pattern;  // regex searched in the layer name
  std::string mode;     // "int8" or "none"
  std::string source;
};

struct HostSettings {
  std::vector<std::string> plugin_dirs;  // searched first to last; a plugin name found twice keeps the first
  SelectionPolicy policy;
  std::map<std::string, OptionMap> plugin_options;
  int threads = 0;  // 0 = hardware concurrency
  std::vector<ActQuantRule> act_quant;  // first match wins; command line first
  std::string config_file;  // the host config that was read, if any
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Reads the host config file named on the command line or by INCQ_CONFIG (if any) and merges.
// Throws Error naming the file and key for an unknown key, a wrong type, an invalid regex.
HostSettings resolve_host_settings(const CommandLineSettings& cli, const EnvLookup& env);

int32_t parse_device_type(const std::string& text, const std::string& source);

}  // namespace incq::host
