#include "core/act_quant_override.hpp"

#include <regex>

namespace incq::host {

void apply_act_quant_rules(ModelPlan& plan, const std::vector<ActQuantRule>& rules) {
  for (auto& m : plan.modules) {
    for (const auto& rule : rules) {
      if (!rule.pattern.empty() && !std::regex_search(m.name, std::regex(rule.pattern))) continue;
      incq_scheme& s = m.scheme.scheme;
      if (rule.mode == "int8" && s.family == INCQ_FAMILY_INT && s.act_bits >= 16) {
        s.act_bits = 8;
        s.act_dynamic = 1;
        s.act_family = INCQ_FAMILY_INT;
        s.act_group_size = -1;
        s.act_sym = 1;
        m.scheme.rule += "; activations int8 per token by " + rule.source;
      }
      break;  // first matching rule wins, "none" included
    }
  }
}

}  // namespace incq::host
