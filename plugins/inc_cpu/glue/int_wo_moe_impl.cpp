// "inc_cpu.ref.int_wo_moe": the reference integer weight-only MoE (gated SiLU experts) behind the ABI.
#include "impls.hpp"
#include "int_wo_experts.hpp"
#include "int_wo_support.hpp"
#include "layer_lifecycle.hpp"
#include "ref_int_wo_linear.hpp"
#include "ref_int_wo_moe.hpp"

namespace incq::inc_cpu {
namespace {

struct IntWoMoe {
  using Weights = IntWoExperts;
  static constexpr const char* kName = "inc_cpu.ref.int_wo_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return int_wo_moe_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_int_wo_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size,
                               IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}, s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<IntWoMoe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_int_wo_moe_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k, hidden, topk_ids,
                         topk_weights, out, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // any group size: -1 or any positive one (ceil(K/G) groups)
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;
  d.tolerance = kRefIntWoTolerance;  // same double-precision path as the Linear reference
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
