// "inc_cpu.fast.int_wo_moe": the fast integer weight-only MoE (GPTQ v1/v2, AWQ; 2/3/4/8-bit; sym and
// asym; act-order) — moe_fast_driver.hpp over cpu-int's per-matrix kernels (int_fast/), which pick
// the machine's ISA (AVX-512, AVX2 or portable code) themselves.
#include <algorithm>

#include "float_fast/float_linear_fast.hpp"
#include "float_fast/scratch_pool.hpp"
#include "float_fast_glue.hpp"
#include "impls.hpp"
#include "int_wo_experts.hpp"
#include "int_wo_support.hpp"
#include "moe_fast/moe_fast_int.hpp"

namespace incq::inc_cpu {
namespace {

// Default compute type (issue 5): bf16 when activations are bf16/f16, fp32 when they are fp32.
int_fast::ComputeType compute_type_of(const FastLayerOptions& o, int32_t act_dtype) {
  switch (o.compute_type) {
    case FastComputeType::Fp32: return int_fast::ComputeType::kFp32;
    case FastComputeType::Bf16: return int_fast::ComputeType::kBf16;
    case FastComputeType::Int8: return int_fast::ComputeType::kInt8;
    case FastComputeType::Auto: break;
  }
  return act_dtype == INCQ_DTYPE_F32 ? int_fast::ComputeType::kFp32 : int_fast::ComputeType::kBf16;
}

struct IntFastMoe {
  using Weights = IntFastExperts;
  static constexpr const char* kName = "inc_cpu.fast.int_wo_moe";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    const std::string why = int_wo_moe_reason(s, device);
    if (!why.empty()) return why;
    if (std::max(s.hidden_size, s.intermediate_size) > kFloatFastMaxDepth) {
      return "hidden/intermediate size above " + std::to_string(kFloatFastMaxDepth) +
             ", where the declared tolerance stops holding";
    }
    return "";
  }
  static void check_options(const FastLayerOptions&, const LayerSpec&) {}  // every compute_type runs
  static Weights load(BundleTensors& tensors, const LayerSpec& s, const FastLayerOptions& o) {
    IntFastExperts ex = int_experts_from_ref(
        load_int_wo_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size,
                            IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}, s.has_bias != 0),
        compute_type_of(o, s.act_dtype));
    ScratchPool::instance().reserve(moe_fast_scratch_bytes<IntExpertOps>(ex, s.top_k));
    return ex;
  }
  static uint64_t resident(const Weights& w) { return int_experts_resident_bytes(w); }
};
using L = FastLifecycle<IntFastMoe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = L::ready_layer(handle);
    moe_fast_apply<IntExpertOps>(layer.weights, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k,
                                 /*finite_inputs=*/false, hidden, topk_ids, topk_weights, out, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // as the reference: -1 or any group that its checks accept
  d.num_group_sizes = 0;
  d.sym_mask = 0x3u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 100;
  d.tolerance = kIntFastMoeTolerance;
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* int_fast_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
