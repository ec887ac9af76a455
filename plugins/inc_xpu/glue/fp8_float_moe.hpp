// MoE experts of the float formats (FP8, MXFP4 / MXFP8, MXINT4, W4A8) for xpu-core's MoeDriver:
// each projection's experts stacked in one buffer, the scheme's activation step applied to the
// driver's inputs (x per token before gate/up, the intermediate h per routed pair before down),
// and the routed tile kernels of kernels_cl/{fp8,mx}_f32_moe_RxT_k128.cl and
// w4a8_qd8_f32_qc4w_moe_RxT_k128.cl. NVFP4 experts are not served (each expert's activations
// would need its own input_global_scale).
#ifndef INCQ_INC_XPU_GLUE_FP8_FLOAT_MOE_HPP
#define INCQ_INC_XPU_GLUE_FP8_FLOAT_MOE_HPP

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fp8_float_device.hpp"
#include "moe/moe_driver.hpp"
#include "tensor_access.hpp"
#include "xpu_lifecycle.hpp"

namespace incq::inc_xpu::flt {

class FloatMoeExperts : public MoeExpertKernels {
 public:
  FloatMoeExperts(cl_program program, FloatMatrix gate, FloatMatrix up, FloatMatrix down, ActStep act,
                  int32_t x_dtype);
  int32_t rows_per_tile(int64_t pairs) const override;
  void enqueue_gate_up(const Session& s, const MoeRouting& r, cl_mem x, uint32_t x_off, cl_mem h) const override;
  void enqueue_down(const Session& s, const MoeRouting& r, cl_mem h, cl_mem ypair) const override;
  uint64_t resident() const { return gate_.resident + up_.resident + down_.resident; }

 private:
  void launch(const Session& s, const MoeRouting& r, bool gate_up, const FloatMatrix& a, const FloatMatrix& b,
              const ActInput& in, const ActScratch& scratch, cl_mem out, int64_t N, int64_t K) const;
  FloatMatrix gate_, up_, down_;
  ActStep act_;
  int32_t x_dtype_;
  Kernel gate_up1_, gate_up4_, down1_, down4_, quant_;
  // Quantized inputs of the last launch; the driver runs under the layer's launch mutex.
  mutable ActScratch x_scratch_, h_scratch_;
};

// What an MoE family supplies (stacked images of the three projections of every expert).
struct ExpertImages {
  std::vector<FloatImage> gate, up, down;
};

// The limits every float MoE shares on top of the CPU reference's scheme rules.
std::string float_moe_limits(const inc_cpu::LayerSpec& s);

struct FloatMoeWeights {
  std::unique_ptr<FloatMoeExperts> experts;
  MoeDriver driver;
};

// Spec: kName, reason(LayerSpec) and images(BundleTensors&, LayerSpec) -> ExpertImages.
template <typename Spec>
struct FloatMoe {
  using Weights = std::unique_ptr<FloatMoeWeights>;  // scratch is mutated under the launch mutex
  static constexpr const char* kName = Spec::kName;
  static std::string reason(const inc_cpu::LayerSpec& s) {
    if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer (this implementation is MoE only)";
    if (std::string why = Spec::reason(s); !why.empty()) return why;
    return float_moe_limits(s);
  }
  template <typename Layer>
  static Weights load(inc_cpu::BundleTensors& tensors, const Layer& layer) {
    const inc_cpu::LayerSpec& s = layer.spec;
    const std::string who = "layer '" + s.name + "'";
    const ExpertImages img = Spec::images(tensors, s);
    const Session& session = *layer.session;
    cl_program program = layer.runtime->programs().get(session, float_program_spec(session));
    auto w = std::make_unique<FloatMoeWeights>();
    w->experts = std::make_unique<FloatMoeExperts>(
        program, upload_stack(session, img.gate, who + " gate_proj"), upload_stack(session, img.up, who + " up_proj"),
        upload_stack(session, img.down, who + " down_proj"), act_step_of(s), s.act_dtype);
    // The routing and combine kernels live in xpu-core's program for the activation dtype.
    w->driver = MoeDriver(layer.runtime->programs().get(session, int_program_spec(s.act_dtype, 4)), s.num_experts,
                          s.hidden_size, s.intermediate_size);
    return w;
  }
  static uint64_t resident(const Weights& w) { return w ? w->experts->resident() : 0; }
};

template <typename Spec>
incq_status float_apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* ids,
                            const incq_tensor* weights, incq_tensor* out, const incq_exec*, incq_error* err) {
  using L = XpuLifecycle<FloatMoe<Spec>>;
  return guarded(err, [&] {
    const typename L::Layer& layer = L::ready_layer(handle);
    const Session& s = *layer.session;
    const inc_cpu::LayerSpec& spec = layer.spec;
    const std::string who = "layer '" + spec.name + "'";
    if (hidden == nullptr || ids == nullptr || weights == nullptr || out == nullptr)
      fail(INCQ_ERR_INVALID_ARGUMENT, who + ": NULL tensor");
    const int64_t T = hidden->ndim == 2 ? hidden->shape[0] : -1;
    if (T < 0) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": hidden must be 2-D [T, H]");
    const int32_t k = ids->ndim == 2 ? static_cast<int32_t>(ids->shape[1]) : spec.top_k;
    if (k <= 0) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": topk_ids must be [T, k] with k > 0");
    TensorAccess xa(s, hidden, spec.act_dtype, {T, spec.hidden_size}, false, who + " hidden");
    TensorAccess ia(s, ids, INCQ_DTYPE_I32, {T, k}, false, who + " topk_ids");
    TensorAccess wa(s, weights, INCQ_DTYPE_F32, {T, k}, false, who + " topk_weights");
    TensorAccess oa(s, out, spec.act_dtype, {T, spec.hidden_size}, true, who + " out");
    if (ia.staged()) {  // host ids are checked here; device ids out of range belong to no expert
      const int32_t* p = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(ids->data) + ids->byte_offset);
      for (int64_t i = 0; i < T * k; ++i)
        if (p[i] < 0 || p[i] >= spec.num_experts)
          fail(INCQ_ERR_INVALID_ARGUMENT, who + ": topk_ids[" + std::to_string(i / k) + "," + std::to_string(i % k) +
                                              "] = " + std::to_string(p[i]) + " is not an expert index");
    }
    std::lock_guard<std::mutex> lock(layer.launch_mutex);
    layer.weights->driver.enqueue(s, *layer.weights->experts, T, k, xa.mem(), xa.offset(), ia.mem(), ia.offset(),
                                  wa.mem(), wa.offset(), oa.mem(), oa.offset());
    oa.finish(s);
    if (!oa.staged()) L::complete(layer);
  });
}

template <typename Spec>
incq_impl_desc float_moe_desc(int32_t family) {
  incq_impl_desc d = XpuLifecycle<FloatMoe<Spec>>::base_desc(INCQ_MODULE_MOE);
  d.family = family;
  d.priority = 50;
  d.tolerance = kTolerance;
  d.apply_moe = float_apply_moe<Spec>;
  return d;
}

}  // namespace incq::inc_xpu::flt

#endif
