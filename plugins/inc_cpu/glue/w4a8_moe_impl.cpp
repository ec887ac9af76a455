// "inc_cpu.ref.w4a8_int_moe": the reference W4A8 MoE (gated SiLU experts, int4 symmetric GPTQ
// weights, per-token int8 activations before each projection) behind the ABI.
#include "impls.hpp"
#include "int_wo_experts.hpp"
#include "layer_lifecycle.hpp"
#include "ref_w4a8_linear.hpp"
#include "ref_w4a8_moe.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_cpu {
namespace {

struct W4a8Moe {
  using Weights = IntWoExperts;
  static constexpr const char* kName = "inc_cpu.ref.w4a8_int_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return w4a8_moe_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    IntWoExperts ex = load_int_wo_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size,
                                          w4a8_format_of(s), s.has_bias != 0);
    for (int64_t e = 0; e < ex.num_experts; ++e) {
      const std::string p = std::to_string(e) + ".";
      check_w4a8_groups(ex.gate[static_cast<size_t>(e)], s.name, p + "gate_proj.");
      check_w4a8_groups(ex.up[static_cast<size_t>(e)], s.name, p + "up_proj.");
      check_w4a8_groups(ex.down[static_cast<size_t>(e)], s.name, p + "down_proj.");
    }
    return ex;
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<W4a8Moe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_w4a8_moe_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k, hidden, topk_ids,
                       topk_weights, out, exec);
  });
}

const int32_t kGroupSizes[] = {32, 64, 128, 256};

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroupSizes;
  d.num_group_sizes = sizeof kGroupSizes / sizeof kGroupSizes[0];
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = -10;  // as the Linear: never chosen automatically over the exact weight-only MoE
  d.tolerance = kRefW4a8Tolerance;
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* w4a8_int_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
