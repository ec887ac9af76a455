// What the reference integer weight-only path can run: the reasons behind can_implement.
#ifndef INCQ_INC_CPU_INT_WO_SUPPORT_HPP
#define INCQ_INC_CPU_INT_WO_SUPPORT_HPP

#include <cstdint>
#include <string>

#include "incq/plugin_api.h"
#include "layer_spec.hpp"

namespace incq::inc_cpu {

// Each returns "" when the reference can run the request, else the precise reason.

// Scheme-level limits (family, bits, packing, group size, activations), any shape.
std::string int_wo_scheme_reason(const LayerSpec& spec);

// Whether a K x N matrix can be packed in `packing` at `bits` (DESIGN §4 tensor layouts).
std::string int_wo_shape_reason(int32_t bits, int32_t packing, int64_t K, int64_t N);

std::string cpu_device_reason(const incq_device* device);

// Whole predicates for the two registered implementations.
std::string int_wo_linear_reason(const LayerSpec& spec, const incq_device* device);
std::string int_wo_moe_reason(const LayerSpec& spec, const incq_device* device);

}  // namespace incq::inc_cpu

#endif
