// `incq inspect`: per module, the resolved scheme, the chosen implementation and every rejected
// candidate with its reason.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/host.hpp"
#include "core/model_plan.hpp"
#include "core/selection.hpp"

namespace incq::host {

struct ModuleInspection {
  const ModulePlan* module = nullptr;
  Selection selection;  // selection.error says why when nothing could be chosen
  OptionMap options;    // what the chosen implementation's create() would be given
};

struct ModelInspection {
  ModelPlan plan;
  std::string checkpoint_backend;
  std::vector<ModuleInspection> modules;
};

// The policy for a model: the host's, plus the checkpoint's backend preference.
SelectionPolicy policy_for_model(const Host& host, const QuantConfig& config);

ModelInspection inspect_model(Host& host, const std::string& model_dir, int32_t act_dtype);
nlohmann::ordered_json to_json(const ModelInspection& r);
std::string to_text(const ModelInspection& r);

}  // namespace incq::host
