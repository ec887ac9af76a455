// What incq must resolve a layer to, from what AutoRound itself recorded for it: its resolved
// per-layer scheme (bits, group size, sym, data type, activation bits) and the class of the
// AutoRound module that reads the layer (which fixes the packing, e.g. qlinear_torch_zp = GPTQ v1).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/quant_config.hpp"

namespace incq::autoround_test {

// One line per field where incq's resolution differs from AutoRound's; empty when they agree.
std::vector<std::string> scheme_mismatches(const nlohmann::json& layer_entry, const host::LayerScheme& incq);

// The incq packing that AutoRound's module class implies; -1 when the class says nothing (no
// module was recorded) and the test must not guess.
int32_t packing_of_autoround_class(const std::string& module_class, const nlohmann::json& autoround_scheme);

}  // namespace incq::autoround_test
