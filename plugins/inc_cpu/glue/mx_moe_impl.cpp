// "inc_cpu.ref.{mx_fp,nv_fp,mx_int}_moe": the reference block-scaled MoE (gated SiLU experts) behind
// the ABI, one registered implementation per scheme family.
#include "impls.hpp"
#include "layer_lifecycle.hpp"
#include "mx_experts.hpp"
#include "mx_support.hpp"
#include "ref_mx_linear.hpp"
#include "ref_mx_moe.hpp"

namespace incq::inc_cpu {
namespace {

template <int32_t Family>
struct MxMoe {
  using Weights = MxExperts;
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP   ? "inc_cpu.ref.mx_fp_moe"
                                       : Family == INCQ_FAMILY_NV_FP ? "inc_cpu.ref.nv_fp_moe"
                                                                     : "inc_cpu.ref.mx_int_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return mx_moe_reason(Family, s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_mx_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size, mx_format_of_spec(s),
                           act_quant_of_spec(s), s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};

template <int32_t Family>
incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = Lifecycle<MxMoe<Family>>::ready_layer(handle);
    ref_mx_moe_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k, hidden, topk_ids,
                     topk_weights, out, exec);
  });
}

template <int32_t Family>
incq_impl_desc make_desc() {
  incq_impl_desc d = Lifecycle<MxMoe<Family>>::base_desc(INCQ_MODULE_MOE);
  static const int32_t kMxGroups[] = {32};
  static const int32_t kNvGroups[] = {16};
  d.family = Family;
  d.bits_mask = Family == INCQ_FAMILY_MX_FP ? (INCQ_BIT(4) | INCQ_BIT(8)) : INCQ_BIT(4);
  d.group_sizes = Family == INCQ_FAMILY_NV_FP ? kNvGroups : kMxGroups;
  d.num_group_sizes = 1;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_LLM_COMPRESSOR);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;
  d.tolerance = kRefMxTolerance;  // same double-precision path as the Linear reference
  d.apply_moe = apply_moe<Family>;
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}
const incq_impl_desc* nv_fp_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_NV_FP>();
  return &desc;
}
const incq_impl_desc* mx_int_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_cpu
