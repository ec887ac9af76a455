// What the reference FP8 path can run: the reasons behind can_implement of
// inc_cpu.ref.fp8_linear / inc_cpu.ref.fp8_moe.
#ifndef INCQ_INC_CPU_FP8_SUPPORT_HPP
#define INCQ_INC_CPU_FP8_SUPPORT_HPP

#include <string>

#include "fp8_weights.hpp"
#include "incq/plugin_api.h"
#include "layer_spec.hpp"
#include "ref_fp8_linear.hpp"

namespace incq::inc_cpu {

// Each returns "" when the reference can run the request, else the precise reason.
std::string fp8_scheme_reason(const LayerSpec& spec);
std::string fp8_linear_reason(const LayerSpec& spec, const incq_device* device);
std::string fp8_moe_reason(const LayerSpec& spec, const incq_device* device);

Fp8Format fp8_format_of(const LayerSpec& spec);
// The activation quantization of a layer fp8_scheme_reason accepted.
Fp8ActQuant fp8_act_quant_of(const LayerSpec& spec);

}  // namespace incq::inc_cpu

#endif
