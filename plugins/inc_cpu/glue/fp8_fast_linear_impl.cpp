// "inc_cpu.avx512.fp8_linear": the fast FP8 Linear (weight-only W8A16 with per-tensor, per-channel,
// per-group or block scales, e4m3 / e5m2; W8A8 with dynamic E4M3 activations) behind the ABI.
#include "float_fast/float_fast_support.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "float_fast/float_matrix.hpp"
#include "float_fast/scratch_pool.hpp"
#include "float_fast_glue.hpp"
#include "fp8_support.hpp"
#include "fp8_weights.hpp"
#include "impls.hpp"

namespace incq::inc_cpu {
namespace {

struct Fp8FastLinear {
  using Weights = FloatMatrix;
  static constexpr const char* kName = "inc_cpu.avx512.fp8_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    const std::string why = fp8_linear_reason(s, device);
    return why.empty() ? float_fast_reason(s) : why;
  }
  static void check_options(const FastLayerOptions& o, const LayerSpec& s) { refuse_int8_for_float_formats(o, s.name); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s, const FastLayerOptions& o) {
    FloatMatrix w = float_matrix_from_fp8(
        load_fp8_matrix(tensors, s.name, "", s.in_features, s.out_features, fp8_format_of(s), s.has_bias != 0),
        fp8_act_quant_of(s));
    // bf16 activations are exact in bf16: auto / bf16 may take the bf16 GEMV (float_gemm.hpp).
    w.bf16_mode = o.compute_type != FastComputeType::Fp32;
    ScratchPool::instance().reserve(float_linear_scratch_bytes(w));
    return w;
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};
using L = FastLifecycle<Fp8FastLinear>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    float_linear_apply_fast(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_FP8;
  d.bits_mask = INCQ_BIT(8);
  d.group_sizes = nullptr;  // 0 per tensor, -1 per channel, any positive group; blocks from block_n/k
  d.num_group_sizes = 0;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 100;  // above the reference (0)
  d.tolerance = kFloatFastTolerance;  // why: float_linear_fast.hpp
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* fp8_fast_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
