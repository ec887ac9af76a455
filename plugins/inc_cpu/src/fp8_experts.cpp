#include "fp8_experts.hpp"

namespace incq::inc_cpu {

uint64_t Fp8Experts::resident_bytes() const {
  uint64_t total = 0;
  for (const auto* list : {&gate, &up, &down})
    for (const Fp8Matrix& m : *list) total += m.resident_bytes();
  return total;
}

Fp8Experts load_fp8_experts(BundleTensors& tensors, const std::string& layer, int64_t num_experts, int64_t hidden,
                            int64_t intermediate, const Fp8Format& format, bool require_bias) {
  Fp8Experts ex;
  ex.num_experts = num_experts;
  ex.hidden = hidden;
  ex.intermediate = intermediate;
  for (int64_t e = 0; e < num_experts; ++e) {
    const std::string p = std::to_string(e) + ".";
    ex.gate.push_back(load_fp8_matrix(tensors, layer, p + "gate_proj.", hidden, intermediate, format, require_bias));
    ex.up.push_back(load_fp8_matrix(tensors, layer, p + "up_proj.", hidden, intermediate, format, require_bias));
    ex.down.push_back(load_fp8_matrix(tensors, layer, p + "down_proj.", intermediate, hidden, format, require_bias));
  }
  return ex;
}

}  // namespace incq::inc_cpu
