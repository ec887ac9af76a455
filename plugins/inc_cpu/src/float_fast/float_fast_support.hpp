// What the fast float-format implementations add to the reference's can_implement reasons, and
// their per-layer options.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FLOAT_FAST_SUPPORT_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FLOAT_FAST_SUPPORT_HPP

#include <cstdint>
#include <string>

#include "incq/plugin_api.h"
#include "layer_spec.hpp"

namespace incq::inc_cpu {

// "" when this CPU runs the kernels and every product depth (K; H and I for MoE) keeps the declared
// tolerance (float_linear_fast.hpp), else the reason.
std::string float_fast_reason(const LayerSpec& spec);

// Layer options: `compute_type` = auto | fp32 | bf16 (docs/compute_modes_float.md); int8 and any
// other key or value are refused with a message naming the layer. Throws StatusError.
void check_float_fast_options(const incq_kv* options, size_t num_options, const std::string& layer);

}  // namespace incq::inc_cpu

#endif
