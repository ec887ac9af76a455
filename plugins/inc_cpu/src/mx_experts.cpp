#include "mx_experts.hpp"

namespace incq::inc_cpu {

uint64_t MxExperts::resident_bytes() const {
  uint64_t total = 0;
  for (const auto* list : {&gate, &up, &down})
    for (const MxMatrix& m : *list) total += m.resident_bytes();
  return total;
}

MxExperts load_mx_experts(BundleTensors& tensors, const std::string& layer, int64_t num_experts, int64_t hidden,
                          int64_t intermediate, const MxFormat& format, const ActQuant& act, bool require_bias) {
  MxExperts ex;
  ex.num_experts = num_experts;
  ex.hidden = hidden;
  ex.intermediate = intermediate;
  for (int64_t e = 0; e < num_experts; ++e) {
    const std::string p = std::to_string(e) + ".";
    ex.gate.push_back(load_mx_matrix(tensors, layer, p + "gate_proj.", hidden, intermediate, format, act, require_bias));
    ex.up.push_back(load_mx_matrix(tensors, layer, p + "up_proj.", hidden, intermediate, format, act, require_bias));
    ex.down.push_back(load_mx_matrix(tensors, layer, p + "down_proj.", intermediate, hidden, format, act, require_bias));
  }
  return ex;
}

}  // namespace incq::inc_cpu
