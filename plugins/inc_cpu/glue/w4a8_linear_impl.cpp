// "inc_cpu.ref.w4a8_int_linear": the reference W4A8 Linear (int4 symmetric GPTQ weights, dynamic
// per-token int8 activations) behind the ABI.
#include "impls.hpp"
#include "int_wo_matrix.hpp"
#include "layer_lifecycle.hpp"
#include "ref_w4a8_linear.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_cpu {
namespace {

struct W4a8Linear {
  using Weights = IntWoMatrix;
  static constexpr const char* kName = "inc_cpu.ref.w4a8_int_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return w4a8_linear_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    IntWoMatrix w = load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features, w4a8_format_of(s),
                                       s.has_bias != 0);
    check_w4a8_groups(w, s.name, "");
    return w;
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<W4a8Linear>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_w4a8_linear_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

// Group sizes the descriptor lists; can_implement takes any positive multiple of 32 dividing K.
const int32_t kGroupSizes[] = {32, 64, 128, 256};

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroupSizes;
  d.num_group_sizes = sizeof kGroupSizes / sizeof kGroupSizes[0];
  d.sym_mask = 0x2u;  // symmetric only
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  // Below the weight-only reference (0): for a W4A16 layer (act_bits 16) automatic selection keeps
  // the exact path and this lossy one runs only when the user names it; for a W4A8 layer
  // (act_bits 8) it is the only candidate, whatever its priority.
  d.priority = -10;
  d.tolerance = kRefW4a8Tolerance;  // relative to sum |x' w| with x' quantized: ref_w4a8_linear.hpp
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* w4a8_int_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
