// The reference integer weight-only MoE:
// out[t] = sum_j w[t,j] * down_e(silu(gate_e(x_t)) * up_e(x_t)), e = topk_ids[t,j].
#ifndef INCQ_INC_CPU_REF_INT_WO_MOE_HPP
#define INCQ_INC_CPU_REF_INT_WO_MOE_HPP

#include <string>

#include "incq/plugin_api.h"
#include "int_wo_experts.hpp"

namespace incq::inc_cpu {

// hidden [T, H] and out [T, H] in act_dtype; topk_ids [T, top_k] I32; topk_weights [T, top_k]
// F32; any row strides. Everything up to the final output stays in double; out is rounded once.
// Throws StatusError (naming `layer`) before writing anything, e.g. for an expert id out of range.
void ref_int_wo_moe_apply(const IntWoExperts& experts, const std::string& layer, int32_t act_dtype,
                          int32_t top_k, const incq_tensor* hidden, const incq_tensor* topk_ids,
                          const incq_tensor* topk_weights, incq_tensor* out,
                          const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
