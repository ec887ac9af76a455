// The reference block-scaled MoE:
// out[t] = sum_j w[t,j] * down_e(q(silu(gate_e(q(x_t))) * up_e(q(x_t)))), e = topk_ids[t,j],
// q being each projection's own activation quantizer (identity for weight-only schemes).
#ifndef INCQ_INC_CPU_REF_MX_MOE_HPP
#define INCQ_INC_CPU_REF_MX_MOE_HPP

#include <string>

#include "incq/plugin_api.h"
#include "mx_experts.hpp"

namespace incq::inc_cpu {

// hidden [T, H] and out [T, H] in act_dtype; topk_ids [T, top_k] I32; topk_weights [T, top_k]
// F32; any row strides. Everything up to the final output stays in double; out is rounded once.
// The down_proj input, a double intermediate, is rounded to fp32 before its quantizer (as every
// quantizer input is: docs/formats.md §3). Throws StatusError
// (naming `layer`) before writing anything, e.g. for an expert id out of range.
void ref_mx_moe_apply(const MxExperts& experts, const std::string& layer, int32_t act_dtype, int32_t top_k,
                      const incq_tensor* hidden, const incq_tensor* topk_ids, const incq_tensor* topk_weights,
                      incq_tensor* out, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
