// "inc_cpu.avx512.{mx_fp,nv_fp,mx_int}_linear": the fast block-scaled Linear (MXFP4, MXFP8, NVFP4,
// MXINT4; weight-only or with dynamic activation quantization, bit-exact per docs/formats.md §3)
// behind the ABI, one registered implementation per scheme family as for the references.
#include "float_fast/float_fast_support.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "float_fast/float_matrix.hpp"
#include "float_fast/scratch_pool.hpp"
#include "float_fast_glue.hpp"
#include "impls.hpp"
#include "mx_support.hpp"
#include "mx_weights.hpp"

namespace incq::inc_cpu {
namespace {

template <int32_t Family>
struct MxFastLinear {
  using Weights = FloatMatrix;
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP   ? "inc_cpu.avx512.mx_fp_linear"
                                       : Family == INCQ_FAMILY_NV_FP ? "inc_cpu.avx512.nv_fp_linear"
                                                                     : "inc_cpu.avx512.mx_int_linear";
  static std::string reason(const LayerSpec& s, const incq_device* device) {
    const std::string why = mx_linear_reason(Family, s, device);
    return why.empty() ? float_fast_reason(s) : why;
  }
  static void check_options(const FastLayerOptions& o, const LayerSpec& s) { refuse_int8_for_float_formats(o, s.name); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s, const FastLayerOptions& o) {
    FloatMatrix w = float_matrix_from_mx(load_mx_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                                        mx_format_of_spec(s), act_quant_of_spec(s), s.has_bias != 0));
    // bf16 activations are exact in bf16: auto / bf16 may take the bf16 GEMV (float_gemm.hpp).
    w.bf16_mode = o.compute_type != FastComputeType::Fp32;
    ScratchPool::instance().reserve(float_linear_scratch_bytes(w));
    return w;
  }
  static uint64_t resident(const Weights& w) { return w.resident_bytes(); }
};

template <int32_t Family>
incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = FastLifecycle<MxFastLinear<Family>>::ready_layer(handle);
    float_linear_apply_fast(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

template <int32_t Family>
incq_impl_desc make_desc() {
  incq_impl_desc d = FastLifecycle<MxFastLinear<Family>>::base_desc(INCQ_MODULE_LINEAR);
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
  d.priority = 100;  // above the reference (0)
  d.tolerance = kFloatFastTolerance;  // why: float_linear_fast.hpp
  d.apply_linear = apply_linear<Family>;
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_fast_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}
const incq_impl_desc* nv_fp_fast_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_NV_FP>();
  return &desc;
}
const incq_impl_desc* mx_int_fast_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_cpu
