// What the reference block-scaled path (MXFP4, MXFP8, NVFP4, MXINT4) can run: the reasons behind
// can_implement of its Linear and MoE implementations.
#ifndef INCQ_INC_CPU_MX_SUPPORT_HPP
#define INCQ_INC_CPU_MX_SUPPORT_HPP

#include <cstdint>
#include <string>

#include "incq/plugin_api.h"
#include "layer_spec.hpp"
#include "mx_act_quant.hpp"
#include "mx_format.hpp"

namespace incq::inc_cpu {

// Each returns "" when the reference can run the request, else the precise reason. `family` is the
// scheme family the registered implementation serves (MX_FP, NV_FP or MX_INT).
std::string mx_linear_reason(int32_t family, const LayerSpec& spec, const incq_device* device);
std::string mx_moe_reason(int32_t family, const LayerSpec& spec, const incq_device* device);

// The weight format and activation quantizer of a spec that passed the reason checks.
MxFormat mx_format_of_spec(const LayerSpec& spec);
ActQuant act_quant_of_spec(const LayerSpec& spec);

}  // namespace incq::inc_cpu

#endif
