#include "moe_fast/moe_fast_float.hpp"

namespace incq::inc_cpu {

FloatExperts float_experts_from_fp8(const Fp8Experts& ex, const Fp8ActQuant& act) {
  FloatExperts f;
  f.num_experts = ex.num_experts;
  f.hidden = ex.hidden;
  f.intermediate = ex.intermediate;
  for (size_t e = 0; e < ex.gate.size(); ++e) {
    f.gate.push_back(float_matrix_from_fp8(ex.gate[e], act));
    f.up.push_back(float_matrix_from_fp8(ex.up[e], act));
    f.down.push_back(float_matrix_from_fp8(ex.down[e], act));
  }
  return f;
}

FloatExperts float_experts_from_mx(const MxExperts& ex) {
  FloatExperts f;
  f.num_experts = ex.num_experts;
  f.hidden = ex.hidden;
  f.intermediate = ex.intermediate;
  for (size_t e = 0; e < ex.gate.size(); ++e) {
    f.gate.push_back(float_matrix_from_mx(ex.gate[e]));
    f.up.push_back(float_matrix_from_mx(ex.up[e]));
    f.down.push_back(float_matrix_from_mx(ex.down[e]));
  }
  return f;
}

}  // namespace incq::inc_cpu
