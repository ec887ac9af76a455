// "inc_xpu.int_wo_moe": integer weight-only MoE (the same schemes as inc_xpu.int_wo_linear) on an
// OpenCL device: routing, gate+up+SiLU, down and the weighted combine all stay on the device.
#include "impls.hpp"
#include "int/int_device_matrix.hpp"
#include "int_wo_experts.hpp"
#include "int/int_wo_moe_device.hpp"
#include "int_wo_support.hpp"
#include "tensor_access.hpp"
#include "xpu_lifecycle.hpp"
#include "xpu_tolerance.hpp"

namespace incq::inc_xpu {
namespace {

struct IntWoMoeWeights {
  IntWoMoeExperts experts;
  MoeDriver driver;
};

struct IntWoMoe {
  using Weights = std::unique_ptr<IntWoMoeWeights>;  // the driver's scratch is mutated under the launch mutex
  static constexpr const char* kName = "inc_xpu.int_wo_moe";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer";
    if (std::string why = inc_cpu::int_wo_scheme_reason(s); !why.empty()) return why;
    if (s.num_experts <= 0 || s.top_k <= 0) return "num_experts and top_k must be positive";
    if (s.num_experts > 4096) return "more than 4096 experts (the routing kernel keeps per-expert counts in local memory)";
    if (s.has_bias) return "expert biases are not supported by inc_xpu";
    if (std::string why = inc_cpu::int_wo_shape_reason(s.bits, s.packing, s.hidden_size, s.intermediate_size); !why.empty())
      return "gate_proj/up_proj [hidden_size -> intermediate_size]: " + why;
    if (std::string why = inc_cpu::int_wo_shape_reason(s.bits, s.packing, s.intermediate_size, s.hidden_size); !why.empty())
      return "down_proj [intermediate_size -> hidden_size]: " + why;
    return "";
  }
  template <typename Layer>
  static Weights load(inc_cpu::BundleTensors& tensors, const Layer& layer) {
    const inc_cpu::LayerSpec& s = layer.spec;
    const inc_cpu::IntWoExperts ex = inc_cpu::load_int_wo_experts(
        tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size,
        inc_cpu::IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}, false);
    cl_program program = layer.runtime->programs().get(*layer.session, int_program_spec(s.act_dtype, s.bits));
    auto images = [](const std::vector<inc_cpu::IntWoMatrix>& ms) {
      std::vector<IntDeviceImage> out;
      for (const auto& m : ms) out.push_back(make_int_device_image(m));
      return out;
    };
    const std::string who = "layer '" + s.name + "'";
    auto w = std::make_unique<IntWoMoeWeights>();
    w->experts = IntWoMoeExperts(program, s.bits, upload_int_experts(*layer.session, images(ex.gate), who + " gate_proj"),
                                 upload_int_experts(*layer.session, images(ex.up), who + " up_proj"),
                                 upload_int_experts(*layer.session, images(ex.down), who + " down_proj"), layer.tuning);
    w->driver = MoeDriver(program, s.num_experts, s.hidden_size, s.intermediate_size);
    w->driver.set_name(who);
    w->driver.reserve(*layer.session);  // the queue's bounded scratch, now rather than in apply
    return w;
  }
  static uint64_t resident(const Weights& w) { return w ? w->experts.resident() : 0; }
};
using L = XpuLifecycle<IntWoMoe>;

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* ids, const incq_tensor* weights,
                      incq_tensor* out, const incq_exec*, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
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
    if (ia.staged()) {  // host ids are checked here; device ids by the routing kernel (MoeDriver::check_ids)
      const int32_t* p = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(ids->data) + ids->byte_offset);
      for (int64_t i = 0; i < T * k; ++i)
        if (p[i] < 0 || p[i] >= spec.num_experts)
          fail(INCQ_ERR_INVALID_ARGUMENT, who + ": topk_ids[" + std::to_string(i / k) + "," + std::to_string(i % k) +
                                              "] = " + std::to_string(p[i]) + " is not an expert index");
    }
    {
      std::lock_guard<std::mutex> lock(layer.launch_mutex);
      layer.weights->driver.enqueue(s, layer.weights->experts, T, k, xa.mem(), xa.offset(), ia.mem(), ia.offset(),
                                    wa.mem(), wa.offset(), oa.mem(), oa.offset());
      oa.finish(s);
      if (!oa.staged()) L::complete(layer);
      // The queue has just been waited for (the plugin's own, or a staged output's read-back):
      // report a bad device id now; on the host's queue the record is read every
      // kMoeIdCheckInterval applies (apply must not wait there).
      if (!s.host_queue() || oa.staged()) layer.weights->driver.check_ids_now(s);
    }
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_MOE);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.priority = 50;
  d.tolerance = kXpuF32AccTolerance;
  d.apply_moe = apply_moe;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
