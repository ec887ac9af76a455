// What the reference W4A8 path (int4 symmetric weights, dynamic per-token int8 activations) can run:
// the reasons behind can_implement of inc_cpu.ref.w4a8_int_linear / inc_cpu.ref.w4a8_int_moe.
//
// The limits follow vLLM's XPU W4A8 method, the kernel this reference stands in for
// (vllm/model_executor/layers/quantization/inc/schemes/inc_w4a8_linear.py, INCXPUW4A8LinearMethod,
// built on INCXPULinearBase in inc_wna16_linear.py): symmetric int4 only (it replaces the
// checkpoint's zeros by the constant 8), GPTQ packing along K (AWQ checkpoints are asymmetric),
// scales of shape [K / group_size, N] (so group_size must be positive and divide K: -1 is refused,
// it would give K / -1 groups there), both GEMM dims multiples of 8 (_DIM_ALIGNMENT), activations
// quantized per token to symmetric int8 (dynamic_per_token_int8_quant_ref). Group sizes must be a
// multiple of 32, the int8 datapath's K step and AutoRound's smallest exported group.
#ifndef INCQ_INC_CPU_W4A8_SUPPORT_HPP
#define INCQ_INC_CPU_W4A8_SUPPORT_HPP

#include <string>

#include "incq/plugin_api.h"
#include "int_wo_matrix.hpp"
#include "layer_spec.hpp"

namespace incq::inc_cpu {

// Each returns "" when the reference can run the request, else the precise reason.
std::string w4a8_scheme_reason(const LayerSpec& spec);
// Shape limits for one [K -> N] matrix.
std::string w4a8_shape_reason(int64_t K, int64_t N, int32_t group_size);
std::string w4a8_linear_reason(const LayerSpec& spec, const incq_device* device);
std::string w4a8_moe_reason(const LayerSpec& spec, const incq_device* device);

IntWoFormat w4a8_format_of(const LayerSpec& spec);

// After loading: a g_idx, when present, must be the plain k / group_size (act-order would break the
// contiguous groups the int32 accumulation runs over). Throws INVALID_ARGUMENT naming the tensor.
void check_w4a8_groups(const IntWoMatrix& w, const std::string& layer, const std::string& prefix);

}  // namespace incq::inc_cpu

#endif
