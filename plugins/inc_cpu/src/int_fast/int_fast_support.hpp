// What the fast integer implementations can run (the reasons behind their can_implement) and the
// error contracts they declare. Derivations: docs/compute_modes.md.
#ifndef INCQ_INC_CPU_INT_FAST_INT_FAST_SUPPORT_HPP
#define INCQ_INC_CPU_INT_FAST_INT_FAST_SUPPORT_HPP

#include <string>

#include "incq/plugin_api.h"
#include "layer_spec.hpp"

namespace incq::inc_cpu::int_fast {

// fp32 / bf16 compute types on weight-only layers: x rounded to bf16 (2^-9), weights rounded to
// bf16 on the prefill path (2^-9), fp32 accumulation over at most 256 rows per segment plus the
// segment sums (<= 2^-11 while segments <= kMaxSegments).
constexpr double kIntFastTolerance = 1.0 / 256 + 1.0 / 2048;
// int8 compute type on weight-only layers, against the unquantized oracle: |x - x'| <= |x| per
// element, so the honest bound of this form is sum |x w| itself (plus the fp32 steps).
constexpr double kIntFastInt8Tolerance = 1.0 + 1.0 / 1024;
// W4A8 (activation codes bit-exact with the oracle's): exact int32 group sums, then per segment a
// conversion, a scaling and an fp32 addition: (segments + 3) * 2^-24 <= 2^-12.
constexpr double kW4a8FastTolerance = 1.0 / 4096;

// Segments the fp32 bound of kIntFastTolerance / kW4a8FastTolerance covers.
constexpr int64_t kMaxSegments = 4000;

std::string int_fast_linear_reason(const LayerSpec& spec, const incq_device* device);
std::string w4a8_fast_linear_reason(const LayerSpec& spec, const incq_device* device);

}  // namespace incq::inc_cpu::int_fast

#endif
