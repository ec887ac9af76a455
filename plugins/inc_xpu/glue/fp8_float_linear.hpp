// The ABI glue every float-format Linear of inc_xpu shares (FP8, MX_FP, MX_INT, NV_FP, W4A8): the
// xpu-core lifecycle with a FloatMatrix as weights, and one apply that quantizes x on the device
// when the scheme says so and runs the matmul, x and y as device tensors in the layer's context.
// A family supplies a Spec type:
//   static constexpr const char* kName;
//   static std::string reason(const inc_cpu::LayerSpec&);   "" = can run (device already checked)
//   static flt::FloatMatrix load(inc_cpu::BundleTensors&, const inc_cpu::LayerSpec&, const Session&,
//                                float* nv_input_global);
#ifndef INCQ_INC_XPU_GLUE_FP8_FLOAT_LINEAR_HPP
#define INCQ_INC_XPU_GLUE_FP8_FLOAT_LINEAR_HPP

#include <mutex>
#include <string>

#include "fp8_float_device.hpp"
#include "tensor_access.hpp"
#include "xpu_lifecycle.hpp"

namespace incq::inc_xpu::flt {

struct FloatLayerWeights {
  FloatMatrix w;
  ActStep act;
  FloatKernels kernels;
  mutable ActScratch scratch;  // guarded by the layer's launch mutex
};

template <typename Spec>
struct FloatLinear {
  using Weights = FloatLayerWeights;
  static constexpr const char* kName = Spec::kName;
  static std::string reason(const inc_cpu::LayerSpec& s) {
    if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (this implementation is Linear only)";
    if (std::string why = Spec::reason(s); !why.empty()) return why;
    return accumulation_limit(s.in_features);
  }
  template <typename Layer>
  static Weights load(inc_cpu::BundleTensors& tensors, const Layer& layer) {
    const inc_cpu::LayerSpec& s = layer.spec;
    float nv_global = 0.0f;
    Weights w;
    w.w = Spec::load(tensors, s, *layer.session, &nv_global);
    w.act = act_step_of(s, nv_global);
    cl_program program = layer.runtime->programs().get(*layer.session, float_program_spec(*layer.session));
    w.kernels = make_float_kernels(program, w.w.f.kind, w.act);
    return w;
  }
  static uint64_t resident(const Weights& w) { return w.w.resident; }
};

template <typename Spec>
incq_status float_apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec*,
                               incq_error* err) {
  using L = XpuLifecycle<FloatLinear<Spec>>;
  return guarded(err, [&] {
    const typename L::Layer& layer = L::ready_layer(handle);
    const Session& s = *layer.session;
    const std::string who = "layer '" + layer.spec.name + "'";
    if (x == nullptr || y == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": NULL x or y");
    const int64_t M = x->ndim == 2 ? x->shape[0] : -1;
    if (M < 0) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": x must be 2-D [M, K]");
    TensorAccess xa(s, x, layer.spec.act_dtype, {M, layer.spec.in_features}, false, who + " x");
    TensorAccess ya(s, y, layer.spec.act_dtype, {M, layer.spec.out_features}, true, who + " y");
    {
      std::lock_guard<std::mutex> lock(layer.launch_mutex);
      const FloatLayerWeights& w = layer.weights;
      enqueue_float_matmul(s, w.w, w.act, w.kernels, w.scratch, xa.mem(), xa.offset(), layer.spec.act_dtype,
                           ya.mem(), ya.offset(), layer.spec.act_dtype, M);
    }
    ya.finish(s);
    if (!xa.staged() && !ya.staged()) L::complete(layer);
  });
}

template <typename Spec>
incq_impl_desc float_linear_desc(int32_t family) {
  incq_impl_desc d = XpuLifecycle<FloatLinear<Spec>>::base_desc(INCQ_MODULE_LINEAR);
  d.family = family;
  d.priority = 50;  // above the CPU reference; only ever chosen for OpenCL devices
  d.tolerance = kTolerance;
  d.apply_linear = float_apply_linear<Spec>;
  return d;
}

}  // namespace incq::inc_xpu::flt

#endif
