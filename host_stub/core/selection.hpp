// Picks the implementation for one layer: every candidate is checked (disabled? plugin usable on
// this device? capability descriptor? can_implement?) and every "no" is kept with its reason.
// Then: a forced choice (command line > environment > host config, per layer pattern before
// global) must be honoured or it is an error; a checkpoint preference is honoured when it can
// run; otherwise the highest priority wins, registration order breaking ties.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/layer_options.hpp"
#include "core/registry.hpp"
#include "incq/plugin_api.h"

namespace incq::host {

// A backend name is a plugin name ("inc_cpu") or an implementation name ("inc_cpu.ref.int_wo_linear").
struct BackendChoice {
  std::string name;
  std::string source;  // "--backend", "INCQ_BACKEND", "host config <file> key 'backend'" ...
};

struct LayerBackendRule {
  std::string pattern;  // regex, searched unanchored in the layer name
  BackendChoice choice;
};

struct SelectionPolicy {
  // Each forced level, in precedence order; the first that applies to a layer wins.
  std::optional<BackendChoice> cli_backend;
  std::optional<BackendChoice> env_backend;
  std::vector<LayerBackendRule> config_layer_backends;
  std::optional<BackendChoice> config_backend;
  // A soft preference from the checkpoint's quantization_config.backend.
  std::optional<BackendChoice> checkpoint_backend;
  // Plugin or implementation names never selected, with where each was said.
  std::vector<BackendChoice> disabled;
  int32_t device_type = INCQ_DEVICE_CPU;
  // Plugins that were found but are not loaded (disabled, failed to load or initialize), one line
  // each, so that "nothing can run this layer" can say why a plugin is missing.
  std::vector<std::string> unloaded_plugins;
  // Options for the chosen implementation of a layer (not used to select it): --layer-option and
  // the host config's layer_options, in precedence order.
  std::vector<LayerOptionRule> layer_options;
};

struct Candidate {
  const Implementation* impl = nullptr;
  bool accepted = false;
  std::string reason;  // why not, when !accepted
};

struct Selection {
  const Implementation* chosen = nullptr;
  std::string how;  // "forced by --backend", "priority 10", ...
  std::vector<Candidate> candidates;
  std::string error;  // set (and chosen null) when nothing can run the layer, or a forced backend cannot
};

// Never throws for "cannot run": the reason is in Selection::error, with every candidate kept.
Selection try_select_implementation(const Registry& registry, const incq_layer_desc& desc, const incq_device& device,
                                    const SelectionPolicy& policy);
// The same, throwing Error(selection.error) when no implementation was chosen.
Selection select_implementation(const Registry& registry, const incq_layer_desc& desc, const incq_device& device,
                                const SelectionPolicy& policy);

// The descriptor-level check alone (no can_implement call); empty string = fits.
std::string descriptor_mismatch(const Implementation& impl, const incq_layer_desc& desc, const incq_device& device);

}  // namespace incq::host
