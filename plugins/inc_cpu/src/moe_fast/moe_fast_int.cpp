#include "moe_fast/moe_fast_int.hpp"

#include "int_fast/int_repack.hpp"

namespace incq::inc_cpu {

IntFastExperts int_experts_from_ref(const IntWoExperts& ex, int_fast::ComputeType ct) {
  IntFastExperts f;
  f.num_experts = ex.num_experts;
  f.hidden = ex.hidden;
  f.intermediate = ex.intermediate;
  const int_fast::IntKernels k = int_fast::select_int_kernels();
  auto one = [&](const IntWoMatrix& m) { return IntExpertMatrix{int_fast::repack_int_matrix(m), k, ct}; };
  for (size_t e = 0; e < ex.gate.size(); ++e) {
    f.gate.push_back(one(ex.gate[e]));
    f.up.push_back(one(ex.up[e]));
    f.down.push_back(one(ex.down[e]));
  }
  return f;
}

}  // namespace incq::inc_cpu
