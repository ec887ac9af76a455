#include "int_wo_experts.hpp"

namespace incq::inc_cpu {

uint64_t IntWoExperts::resident_bytes() const {
  uint64_t total = 0;
  for (const auto* list : {&gate, &up, &down}) {
    for (const IntWoMatrix& m : *list) total += m.resident_bytes();
  }
  return total;
}

IntWoExperts load_int_wo_experts(BundleTensors& tensors, const std::string& layer,
                                 int64_t num_experts, int64_t hidden, int64_t intermediate,
                                 const IntWoFormat& format, bool require_bias) {
  IntWoExperts ex;
  ex.num_experts = num_experts;
  ex.hidden = hidden;
  ex.intermediate = intermediate;
  for (int64_t e = 0; e < num_experts; ++e) {
    const std::string prefix = std::to_string(e) + ".";
    ex.gate.push_back(load_int_wo_matrix(tensors, layer, prefix + "gate_proj.", hidden,
                                         intermediate, format, require_bias));
    ex.up.push_back(load_int_wo_matrix(tensors, layer, prefix + "up_proj.", hidden, intermediate,
                                       format, require_bias));
    ex.down.push_back(load_int_wo_matrix(tensors, layer, prefix + "down_proj.", intermediate,
                                         hidden, format, require_bias));
  }
  return ex;
}

}  // namespace incq::inc_cpu
