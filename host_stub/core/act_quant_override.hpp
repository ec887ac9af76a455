// The user's activation-quantization choice (host setting act_quant / --act-quant) applied to a
// model plan before selection: "int8" turns integer weight-only layers into W4A8-style layers —
// activations quantized dynamically per token to symmetric int8 — so that implementations and
// the oracle both see the scheme that will really run.
#pragma once

#include <vector>

#include "core/host_settings.hpp"
#include "core/model_plan.hpp"

namespace incq::host {

void apply_act_quant_rules(ModelPlan& plan, const std::vector<ActQuantRule>& rules);

}  // namespace incq::host
