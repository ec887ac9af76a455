// "inc_cpu.avx512.fp8_moe": the fast FP8 MoE (moe_fast_driver.hpp over FloatMatrix experts).
#include "float_fast/float_fast_support.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "float_fast/scratch_pool.hpp"
#include "float_fast_glue.hpp"
#include "fp8_experts.hpp"
#include "fp8_support.hpp"
#include "impls.hpp"
#include "moe_fast/moe_fast_float.hpp"

namespace incq::inc_cpu {
namespace {

struct Fp8FastMoe {
  using Weights = FloatExperts;
  static constexpr const char* kName = "inc_cpu.avx512.fp8_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    const std::string why = fp8_moe_reason(s, device);
    return why.empty() ? float_fast_reason(s) : why;
  }
  static void check_options(const FastLayerOptions& o, const LayerSpec& s) { refuse_int8_for_float_formats(o, s.name); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s, const FastLayerOptions&) {
    FloatExperts ex = float_experts_from_fp8(
        load_fp8_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size, fp8_format_of(s),
                         s.has_bias != 0),
        fp8_act_quant_of(s));
    ScratchPool::instance().reserve(moe_fast_scratch_bytes<FloatExpertOps>(ex, s.top_k));
    return ex;
  }
  static uint64_t resident(const Weights& w) { return float_experts_resident_bytes(w); }
};
using L = FastLifecycle<Fp8FastMoe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    moe_fast_apply<FloatExpertOps>(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k,
                                   layer.spec.act_bits == 8, hidden, topk_ids, topk_weights, out, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_FP8;
  d.bits_mask = INCQ_BIT(8);
  d.group_sizes = nullptr;
  d.num_group_sizes = 0;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 100;
  // Each projection keeps the Linear bound; silu and the fp32 intermediate add u-sized terms the
  // contract's first-order MoE magnitude already carries (docs/compute_modes_float.md).
  d.tolerance = kFloatFastTolerance;
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* fp8_fast_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
