// The ABI lifecycle every inc_xpu implementation shares — create (picks the session: the host's
// context/queue or the plugin's) → set_weights → process_weights (validate, repack, upload once) →
// apply → destroy — written once. An implementation supplies a Traits type:
//   using Weights = ...;                          device-resident weights and kernels
//   static constexpr const char* kName;
//   static std::string reason(const inc_cpu::LayerSpec&);             "" = can run it
//   static Weights load(inc_cpu::BundleTensors&, const XpuLayer<Traits>&);  validate, repack, upload
//   static uint64_t resident(const Weights&);
//   static void option(Weights-independent LayerTuning&, key, value) via LayerTuning (xpu_layer_options.hpp)
// and writes its apply entry (ready_layer + a lock on layer.launch_mutex around kernel arguments)
// and its descriptor. Every entry is guarded: no exception crosses the ABI.
#ifndef INCQ_INC_XPU_GLUE_XPU_LIFECYCLE_HPP
#define INCQ_INC_XPU_GLUE_XPU_LIFECYCLE_HPP

#include <memory>
#include <mutex>
#include <string>

#include "bundle_tensors.hpp"
#include "enum_names.hpp"
#include "incq/plugin_helpers.hpp"
#include "layer_spec.hpp"
#include "layer_tuning.hpp"
#include "runtime.hpp"

namespace incq::inc_xpu {

// "" when `device` is an OpenCL device description, else why not.
inline std::string opencl_device_reason(const incq_device* device) {
  if (device == nullptr) return "no device given (NULL incq_device)";
  if (!INCQ_HAS_FIELD(device, incq_device, index)) return "incq_device struct_size is too small";
  if (device->type != INCQ_DEVICE_OPENCL) return "inc_xpu runs on OpenCL devices only";
  return "";
}

template <typename Traits>
struct XpuLifecycle {
  struct Layer {
    inc_cpu::LayerSpec spec;
    std::shared_ptr<Session> session;
    Runtime* runtime = nullptr;
    LayerTuning tuning;
    const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
    typename Traits::Weights weights;
    bool ready = false;
    // cl_kernel arguments are shared state: apply holds this from the first clSetKernelArg to the
    // last enqueue of a launch sequence (apply is re-entrant per the ABI).
    mutable std::mutex launch_mutex;
  };

  static Layer& layer_of(incq_layer* handle) {
    if (handle == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(Traits::kName) + ": NULL layer");
    return *reinterpret_cast<Layer*>(handle);
  }

  static const Layer& ready_layer(incq_layer* handle) {
    const Layer& layer = layer_of(handle);
    if (!layer.ready)
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': apply before process_weights succeeded");
    return layer;
  }

  static std::string full_reason(const inc_cpu::LayerSpec& spec, const incq_device* device) {
    if (std::string why = opencl_device_reason(device); !why.empty()) return why;
    return Traits::reason(spec);
  }

  static incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device, incq_error* reason) {
    return guarded(reason, [&] {
      const std::string why = full_reason(inc_cpu::read_layer_desc(desc), device);
      if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, why);
    });
  }

  static incq_status create(void*, const incq_layer_desc* desc, const incq_device* device, const incq_kv* options,
                            size_t num_options, incq_layer** out, incq_error* err) {
    return guarded(err, [&] {
      if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(Traits::kName) + ": create: NULL out");
      *out = nullptr;
      auto layer = std::make_unique<Layer>();
      layer->spec = inc_cpu::read_layer_desc(desc);
      const std::string why = full_reason(layer->spec, device);
      if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer->spec.name + "': " + why);
      layer->tuning = parse_layer_tuning(options, num_options, "layer '" + layer->spec.name + "'");
      layer->runtime = &runtime();
      layer->session = layer->runtime->session_for(device);
      *out = reinterpret_cast<incq_layer*>(layer.release());
    });
  }

  static incq_status set_weights(incq_layer* handle, const incq_weight_bundle* weights, incq_error* err) {
    return guarded(err, [&] {
      Layer& layer = layer_of(handle);
      inc_cpu::BundleTensors check(weights, layer.spec.name);
      if (check.packing() != layer.spec.packing) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': bundle packing " +
                                            inc_cpu::packing_name(check.packing()) + " differs from the scheme's " +
                                            inc_cpu::packing_name(layer.spec.packing));
      }
      layer.pending = weights;
    });
  }

  static incq_status process_weights(incq_layer* handle, incq_error* err) {
    return guarded(err, [&] {
      Layer& layer = layer_of(handle);
      const incq_weight_bundle* bundle = layer.pending;
      layer.pending = nullptr;
      if (bundle == nullptr)
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': process_weights before set_weights");
      inc_cpu::BundleTensors tensors(bundle, layer.spec.name);
      typename Traits::Weights loaded = Traits::load(tensors, layer);
      tensors.reject_unused();
      layer.weights = std::move(loaded);
      layer.ready = true;
    });
  }

  static void destroy(incq_layer* handle) { delete reinterpret_cast<Layer*>(handle); }

  static incq_status resident_bytes(incq_layer* handle, uint64_t* bytes, incq_error* err) {
    return guarded(err, [&] {
      const Layer& layer = layer_of(handle);
      if (bytes == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "resident_bytes: NULL output");
      *bytes = Traits::resident(layer.weights);
    });
  }

  // Results of a launch sequence on the plugin's own queue are waited for; on the host's queue the
  // host orders its own work after them.
  static void complete(const Layer& layer) {
    if (!layer.session->host_queue()) cl_check(clFinish(layer.session->queue()), "inc_xpu: clFinish");
  }

  static incq_impl_desc base_desc(int32_t module_kind) {
    incq_impl_desc d{};
    d.struct_size = sizeof d;
    d.name = Traits::kName;
    d.module_kind = module_kind;
    d.device_mask = INCQ_BIT(INCQ_DEVICE_OPENCL);
    d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
    d.can_implement = can_implement;
    d.create = create;
    d.set_weights = set_weights;
    d.process_weights = process_weights;
    d.destroy = destroy;
    d.resident_bytes = resident_bytes;
    return d;
  }
};

}  // namespace incq::inc_xpu

#endif
