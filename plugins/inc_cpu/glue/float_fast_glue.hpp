// Shared by the fast float-format implementations' glue (fp8_fast_*.cpp, mx_fast_*.cpp): a create
// entry that accepts the layer options of docs/compute_modes_float.md before the shared lifecycle
// (glue/layer_lifecycle.hpp, which takes no options) builds the layer.
#ifndef INCQ_INC_CPU_GLUE_FLOAT_FAST_GLUE_HPP
#define INCQ_INC_CPU_GLUE_FLOAT_FAST_GLUE_HPP

#include "float_fast/float_fast_support.hpp"
#include "layer_lifecycle.hpp"

namespace incq::inc_cpu {

template <typename Traits>
incq_status float_fast_create(void* ctx, const incq_layer_desc* desc, const incq_device* device,
                              const incq_kv* options, size_t num_options, incq_layer** out, incq_error* err) {
  const incq_status st = guarded(err, [&] {
    if (out != nullptr) *out = nullptr;
    const std::string name = desc != nullptr && desc->name != nullptr ? desc->name : "<unnamed>";
    check_float_fast_options(options, num_options, name);
  });
  if (st != INCQ_OK) return st;
  // Every accepted compute_type runs the same fp32 kernels today, so nothing needs keeping.
  return Lifecycle<Traits>::create(ctx, desc, device, nullptr, 0, out, err);
}

}  // namespace incq::inc_cpu

#endif
