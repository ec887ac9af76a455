// "inc_cpu.ref.int_wo_linear": the reference integer weight-only Linear behind the ABI.
#include "impls.hpp"
#include "int_wo_matrix.hpp"
#include "int_wo_support.hpp"
#include "layer_lifecycle.hpp"
#include "ref_int_wo_linear.hpp"

namespace incq::inc_cpu {
namespace {

struct IntWoLinear {
  using Weights = IntWoMatrix;
  static constexpr const char* kName = "inc_cpu.ref.int_wo_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return int_wo_linear_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features,
                              IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}, s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<IntWoLinear>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_int_wo_linear_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  // NULL: any group size; can_implement accepts -1 and every positive one (ceil(K/G) groups).
  d.group_sizes = nullptr;
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;  // the oracle: any faster implementation should win automatic selection
  d.tolerance = kRefIntWoTolerance;  // why: see ref_int_wo_linear.hpp
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
