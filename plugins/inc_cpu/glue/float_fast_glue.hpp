// Shared by the fast float-format and fast MoE implementations' glue (fp8_fast_*.cpp,
// mx_fast_*.cpp, moe_fast_*.cpp): the shared lifecycle (glue/layer_lifecycle.hpp) for everything but
// create and process_weights, which here also take the layer options of docs/compute_modes_float.md
// (`compute_type`) and hand them to Traits::load as a third argument:
//   static Weights load(BundleTensors&, const LayerSpec&, const FastLayerOptions&);
// Options are checked in create (an unknown key or value fails there, naming the layer).
#ifndef INCQ_INC_CPU_GLUE_FLOAT_FAST_GLUE_HPP
#define INCQ_INC_CPU_GLUE_FLOAT_FAST_GLUE_HPP

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "float_fast/float_fast_support.hpp"
#include "layer_lifecycle.hpp"

namespace incq::inc_cpu {

template <typename Traits>
struct FastLifecycle {
  struct Inner {
    using Weights = typename Traits::Weights;
    static constexpr const char* kName = Traits::kName;
    static std::string reason(const LayerSpec& s, const incq_device* d) { return Traits::reason(s, d); }
    static Weights load(BundleTensors&, const LayerSpec& s) {  // never called: process_weights below
      fail(INCQ_ERR_INTERNAL, "layer '" + s.name + "': option-less load called");
    }
    static uint64_t resident(const Weights& w) { return Traits::resident(w); }
  };
  using L = Lifecycle<Inner>;
  // The base Layer followed by the options (the handle points at the whole).
  struct Layer : L::Layer {
    FastLayerOptions options;
  };

  static const Layer& ready_layer(incq_layer* handle) {
    L::ready_layer(handle);  // NULL / not processed
    return *reinterpret_cast<const Layer*>(handle);
  }

  static incq_status create(void*, const incq_layer_desc* desc, const incq_device* device, const incq_kv* options,
                            size_t num_options, incq_layer** out, incq_error* err) {
    return guarded(err, [&] {
      if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(Traits::kName) + ": create: NULL out");
      *out = nullptr;
      auto layer = std::make_unique<Layer>();
      layer->spec = read_layer_desc(desc);
      const std::string why = Traits::reason(layer->spec, device);
      if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer->spec.name + "': " + why);
      layer->options = parse_fast_layer_options(options, num_options, layer->spec.name);
      Traits::check_options(layer->options, layer->spec);
      *out = reinterpret_cast<incq_layer*>(static_cast<typename L::Layer*>(layer.release()));
    });
  }

  static incq_status process_weights(incq_layer* handle, incq_error* err) {
    return guarded(err, [&] {
      Layer& layer = *reinterpret_cast<Layer*>(&L::layer_of(handle));
      const incq_weight_bundle* bundle = layer.pending;
      layer.pending = nullptr;
      if (bundle == nullptr)
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': process_weights before set_weights");
      BundleTensors tensors(bundle, layer.spec.name);
      typename Traits::Weights loaded = Traits::load(tensors, layer.spec, layer.options);
      tensors.reject_unused();
      layer.weights = std::move(loaded);
      layer.ready = true;
    });
  }

  static void destroy(incq_layer* handle) { delete reinterpret_cast<Layer*>(handle); }

  static incq_impl_desc base_desc(int32_t module_kind) {
    incq_impl_desc d = L::base_desc(module_kind);
    d.create = create;
    d.process_weights = process_weights;
    d.destroy = destroy;
    return d;
  }
};

}  // namespace incq::inc_cpu

#endif
