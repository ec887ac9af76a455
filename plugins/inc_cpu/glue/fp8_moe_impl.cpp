// "inc_cpu.ref.fp8_moe": the reference FP8 MoE (gated SiLU experts) behind the ABI.
#include "fp8_experts.hpp"
#include "fp8_support.hpp"
#include "impls.hpp"
#include "layer_lifecycle.hpp"
#include "ref_fp8_linear.hpp"
#include "ref_fp8_moe.hpp"

namespace incq::inc_cpu {
namespace {

struct Fp8Moe {
  using Weights = Fp8Experts;
  static constexpr const char* kName = "inc_cpu.ref.fp8_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return fp8_moe_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_fp8_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size, fp8_format_of(s),
                            s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<Fp8Moe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_fp8_moe_apply(layer.weights, fp8_act_quant_of(layer.spec), layer.spec.name, layer.spec.act_dtype,
                      layer.spec.top_k, hidden, topk_ids, topk_weights, out, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_FP8;
  d.bits_mask = INCQ_BIT(8);
  d.group_sizes = nullptr;  // 0, -1 or any positive group size; blocks from block_n / block_k
  d.num_group_sizes = 0;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;
  // Same double path as the Linear reference; silu's exp adds a few ulps of double (ref_fp8_linear.hpp).
  d.tolerance = kRefFp8Tolerance;
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* fp8_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
