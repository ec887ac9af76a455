// Per-layer key/value options for the implementation that serves a layer (e.g. inc_cpu's
// `compute_type`), from the command line (`--layer-option KEY=VALUE`, every layer) and the host
// config (`layer_options`: {"layer regex": {"key": "value"}}). They reach the implementation's
// create() as incq_kv options; what a key means is the implementation's business.
#pragma once

#include <string>
#include <vector>

#include "core/plugin_loader.hpp"

namespace incq::host {

struct LayerOptionRule {
  std::string pattern;  // regex searched in the layer name; "" matches every layer
  std::string key;
  std::string value;
  std::string source;   // where it was said, for messages
};

// For each key the first matching rule wins; rules are kept in precedence order (command line
// first, then the host config in file order).
OptionMap options_for_layer(const std::vector<LayerOptionRule>& rules, const std::string& layer_name);

// Parses "KEY=VALUE"; throws Error naming `source` when it is not of that form.
LayerOptionRule parse_layer_option(const std::string& text, const std::string& source);

}  // namespace incq::host
