// The reference FP8 MoE (gated SiLU experts, weighted top-k sum); activations quantized before each
// projection when the scheme is W8A8.
#ifndef INCQ_INC_CPU_REF_FP8_MOE_HPP
#define INCQ_INC_CPU_REF_FP8_MOE_HPP

#include <string>

#include "fp8_experts.hpp"
#include "incq/plugin_api.h"
#include "ref_fp8_linear.hpp"

namespace incq::inc_cpu {

// hidden [T, H] and out [T, H] in act_dtype; topk_ids [T, top_k] I32; topk_weights [T, top_k] F32.
// Everything stays in double up to the output; with W8A8 the silu(gate) * up intermediate is rounded
// to fp32 before it is quantized for down_proj (docs/formats.md §3 reads activations as fp32).
void ref_fp8_moe_apply(const Fp8Experts& experts, const Fp8ActQuant& aq, const std::string& layer, int32_t act_dtype,
                       int32_t top_k, const incq_tensor* hidden, const incq_tensor* topk_ids,
                       const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec);

}  // namespace incq::inc_cpu

#endif
