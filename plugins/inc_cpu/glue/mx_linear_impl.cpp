// "inc_cpu.ref.{mx_fp,nv_fp,mx_int}_linear": the reference block-scaled Linear behind the ABI, one
// registered implementation per scheme family (a descriptor serves a single family).
#include "impls.hpp"
#include "layer_lifecycle.hpp"
#include "mx_support.hpp"
#include "mx_weights.hpp"
#include "ref_mx_linear.hpp"

namespace incq::inc_cpu {
namespace {

template <int32_t Family>
struct MxLinear {
  using Weights = MxMatrix;
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP   ? "inc_cpu.ref.mx_fp_linear"
                                       : Family == INCQ_FAMILY_NV_FP ? "inc_cpu.ref.nv_fp_linear"
                                                                     : "inc_cpu.ref.mx_int_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    return mx_linear_reason(Family, s, device);
  }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_mx_matrix(tensors, s.name, "", s.in_features, s.out_features, mx_format_of_spec(s),
                          act_quant_of_spec(s), s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};

template <int32_t Family>
incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = Lifecycle<MxLinear<Family>>::ready_layer(handle);
    ref_mx_linear_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

template <int32_t Family>
incq_impl_desc make_desc() {
  incq_impl_desc d = Lifecycle<MxLinear<Family>>::base_desc(INCQ_MODULE_LINEAR);
  static const int32_t kMxGroups[] = {32};
  static const int32_t kNvGroups[] = {16};
  d.family = Family;
  d.bits_mask = Family == INCQ_FAMILY_MX_FP ? (INCQ_BIT(4) | INCQ_BIT(8)) : INCQ_BIT(4);
  d.group_sizes = Family == INCQ_FAMILY_NV_FP ? kNvGroups : kMxGroups;
  d.num_group_sizes = 1;
  d.sym_mask = 0x2u;  // these formats are symmetric by construction
  d.packing_mask = INCQ_BIT(INCQ_PACKING_LLM_COMPRESSOR);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;  // the oracle: any faster implementation should win automatic selection
  d.tolerance = kRefMxTolerance;  // why: see ref_mx_linear.hpp
  d.apply_linear = apply_linear<Family>;
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}
const incq_impl_desc* nv_fp_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_NV_FP>();
  return &desc;
}
const incq_impl_desc* mx_int_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_cpu
