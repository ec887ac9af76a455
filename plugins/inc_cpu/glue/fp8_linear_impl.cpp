// "inc_cpu.ref.fp8_linear": the reference FP8 Linear (weight-only W8A16, and W8A8 with dynamic
// E4M3 activations) behind the ABI.
#include "fp8_support.hpp"
#include "fp8_weights.hpp"
#include "impls.hpp"
#include "layer_lifecycle.hpp"
#include "ref_fp8_linear.hpp"

namespace incq::inc_cpu {
namespace {

struct Fp8Linear {
  using Weights = Fp8Matrix;
  static constexpr const char* kName = "inc_cpu.ref.fp8_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) { return fp8_linear_reason(s, device); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    return load_fp8_matrix(tensors, s.name, "", s.in_features, s.out_features, fp8_format_of(s), s.has_bias != 0);
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = Lifecycle<Fp8Linear>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    ref_fp8_linear_apply(layer.weights, fp8_act_quant_of(layer.spec), layer.spec.name, layer.spec.act_dtype, x, y,
                         exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_FP8;
  d.bits_mask = INCQ_BIT(8);
  // NULL: any group size: 0 (per tensor), -1 (per channel), any positive one (per group); block
  // sizes come from the scheme's block_n / block_k.
  d.group_sizes = nullptr;
  d.num_group_sizes = 0;
  d.sym_mask = 0x2u;  // FP8 has no zero point
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;  // the oracle: any faster implementation should win automatic selection
  d.tolerance = kRefFp8Tolerance;  // why: see ref_fp8_linear.hpp
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* fp8_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
