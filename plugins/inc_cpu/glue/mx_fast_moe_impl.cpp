// "inc_cpu.avx512.{mx_fp,nv_fp,mx_int}_moe": the fast block-scaled MoE (moe_fast_driver.hpp over
// FloatMatrix experts, each projection with its own input quantizer as the reference has).
#include "float_fast/float_fast_support.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "float_fast/scratch_pool.hpp"
#include "float_fast_glue.hpp"
#include "impls.hpp"
#include "moe_fast/moe_fast_float.hpp"
#include "mx_experts.hpp"
#include "mx_support.hpp"

namespace incq::inc_cpu {
namespace {

template <int32_t Family>
struct MxFastMoe {
  using Weights = FloatExperts;
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP   ? "inc_cpu.avx512.mx_fp_moe"
                                       : Family == INCQ_FAMILY_NV_FP ? "inc_cpu.avx512.nv_fp_moe"
                                                                     : "inc_cpu.avx512.mx_int_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    const std::string why = mx_moe_reason(Family, s, device);
    return why.empty() ? float_fast_reason(s) : why;
  }
  static void check_options(const FastLayerOptions& o, const LayerSpec& s) { refuse_int8_for_float_formats(o, s.name); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s, const FastLayerOptions&) {
    FloatExperts ex = float_experts_from_mx(load_mx_experts(tensors, s.name, s.num_experts, s.hidden_size,
                                                            s.intermediate_size, mx_format_of_spec(s),
                                                            act_quant_of_spec(s), s.has_bias != 0));
    ScratchPool::instance().reserve(moe_fast_scratch_bytes<FloatExpertOps>(ex, s.top_k));
    return ex;
  }
  static uint64_t resident(const Weights& w) { return float_experts_resident_bytes(w); }
};

template <int32_t Family>
incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = FastLifecycle<MxFastMoe<Family>>::ready_layer(handle);
    moe_fast_apply<FloatExpertOps>(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k,
                                   /*finite_inputs=*/false, hidden, topk_ids, topk_weights, out, exec);
  });
}

template <int32_t Family>
incq_impl_desc make_desc() {
  incq_impl_desc d = FastLifecycle<MxFastMoe<Family>>::base_desc(INCQ_MODULE_MOE);
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
  d.priority = 100;
  d.tolerance = kFloatFastTolerance;  // why: fp8_fast_moe_impl.cpp, docs/compute_modes_float.md
  d.apply_moe = apply_moe<Family>;
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_fast_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}
const incq_impl_desc* nv_fp_fast_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_NV_FP>();
  return &desc;
}
const incq_impl_desc* mx_int_fast_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_cpu
