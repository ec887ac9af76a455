// ark.xpu.int_wo_linear: ARK's XPU weight-only Linear (int4 / int8 symmetric, fp16 scales) is
// registered so that `incq plugins` / `incq inspect` say what it would cover and why it cannot run:
// its ops take a SYCL (Level Zero) queue, and incq's device type OPENCL hands over OpenCL queues.
#include <string>

#include "ark_runtime.hpp"
#include "impls.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::ark {
namespace {

constexpr const char* kName = "ark.xpu.int_wo_linear";

incq_status can_implement(void*, const incq_layer_desc*, const incq_device*, incq_error* err) {
  return guarded(err, [&] { fail(INCQ_ERR_UNSUPPORTED, "ARK XPU: " + ark_state().xpu_detail); });
}

incq_status create(void*, const incq_layer_desc*, const incq_device*, const incq_kv*, size_t, incq_layer** out,
                   incq_error* err) {
  return guarded(err, [&] {
    if (out != nullptr) *out = nullptr;
    fail(INCQ_ERR_UNAVAILABLE, "ARK XPU: " + ark_state().xpu_detail);
  });
}

incq_status set_weights(incq_layer*, const incq_weight_bundle*, incq_error* err) {
  return guarded(err, [] { fail(INCQ_ERR_UNAVAILABLE, "ARK XPU: no layer can exist"); });
}
incq_status process_weights(incq_layer*, incq_error* err) {
  return guarded(err, [] { fail(INCQ_ERR_UNAVAILABLE, "ARK XPU: no layer can exist"); });
}
incq_status apply_linear(incq_layer*, const incq_tensor*, incq_tensor*, const incq_exec*, incq_error* err) {
  return guarded(err, [] { fail(INCQ_ERR_UNAVAILABLE, "ARK XPU: no layer can exist"); });
}
void destroy(incq_layer*) {}

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = kName;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4) | INCQ_BIT(8);  // ARK's XPU table: INT4, INT8, sym, FP16 scales
  d.sym_mask = 2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F16) | INCQ_BIT(INCQ_DTYPE_BF16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_OPENCL);
  d.priority = 200;
  d.tolerance = 1e-2;
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = apply_linear;
  d.destroy = destroy;
  return d;
}

}  // namespace

const incq_impl_desc* xpu_int_wo_linear_impl() {
  static const incq_impl_desc d = make_desc();
  return &d;
}

}  // namespace incq::ark
