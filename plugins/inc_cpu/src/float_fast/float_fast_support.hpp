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

// The per-layer options of the fast float / MoE implementations.
enum class FastComputeType { Auto, Fp32, Bf16, Int8 };
struct FastLayerOptions {
  FastComputeType compute_type = FastComputeType::Auto;
};

// `compute_type` = auto | fp32 | bf16 | int8 (docs/compute_modes_float.md); any other key or value is
// refused with a message naming the layer. Throws StatusError. Whether a value suits the scheme is
// the implementation's call (the float formats refuse int8).
FastLayerOptions parse_fast_layer_options(const incq_kv* options, size_t num_options, const std::string& layer);

// The float formats have no int8 path: compute_type int8 fails, naming the layer.
void refuse_int8_for_float_formats(const FastLayerOptions& options, const std::string& layer);

}  // namespace incq::inc_cpu

#endif
