// The reference W4A8 MoE: gated SiLU experts whose projections each quantize their input per token
// to int8 (ref_w4a8_linear.hpp); the silu(gate) * up intermediate is rounded to fp32 first.
#ifndef INCQ_INC_CPU_REF_W4A8_MOE_HPP
#define INCQ_INC_CPU_REF_W4A8_MOE_HPP

#include <string>

#include "incq/plugin_api.h"
#include "int_wo_experts.hpp"

namespace incq::inc_cpu {

void ref_w4a8_moe_apply(const IntWoExperts& experts, const std::string& layer, int32_t act_dtype, int32_t top_k,
                        const incq_tensor* hidden, const incq_tensor* topk_ids, const incq_tensor* topk_weights,
                        incq_tensor* out, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
