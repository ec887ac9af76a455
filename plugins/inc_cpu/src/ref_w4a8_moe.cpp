#include "ref_w4a8_moe.hpp"

#include "moe_reference.hpp"
#include "ref_w4a8_linear.hpp"

namespace incq::inc_cpu {

void ref_w4a8_moe_apply(const IntWoExperts& ex, const std::string& layer, int32_t act_dtype, int32_t top_k,
                        const incq_tensor* hidden, const incq_tensor* topk_ids, const incq_tensor* topk_weights,
                        incq_tensor* out, const incq_exec* exec) {
  auto project = [&](int64_t e, MoeProj proj, const std::vector<double>& src, int64_t rows, std::vector<double>& dst) {
    const size_t i = static_cast<size_t>(e);
    const IntWoMatrix& w = proj == MoeProj::Gate ? ex.gate[i] : proj == MoeProj::Up ? ex.up[i] : ex.down[i];
    w4a8_gemm_double(w, layer, src, rows, dst, exec);
  };
  moe_reference_apply(ex.num_experts, ex.hidden, ex.intermediate, layer, act_dtype, top_k, hidden, topk_ids,
                      topk_weights, out, project);
}

}  // namespace incq::inc_cpu
