// The ABI lifecycle every inc_cpu implementation shares — create → set_weights → process_weights →
// (apply) → destroy, plus resident_bytes — written once. An implementation supplies a Traits type:
//   using Weights = ...;                       what process_weights builds (owns its storage)
//   static constexpr const char* kName;        the implementation's registered name
//   static std::string reason(const LayerSpec&, const incq_device*);   "" = can run it
//   static Weights load(BundleTensors&, const LayerSpec&);              validate and repack
//   static uint64_t resident(const Weights&);
// and optionally, for implementations that take per-layer options (create's incq_kv list):
//   using Options = ...;   static Options parse_options(const incq_kv*, size_t, const LayerSpec&);
// (without them every option is refused by name).
// and writes only its apply entry (using ready_layer) and its descriptor (filling the entries with
// Lifecycle<Traits>::...). Every entry is guarded: no exception crosses the ABI.
#ifndef INCQ_INC_CPU_GLUE_LAYER_LIFECYCLE_HPP
#define INCQ_INC_CPU_GLUE_LAYER_LIFECYCLE_HPP

#include <memory>
#include <string>
#include <type_traits>

#include "bundle_tensors.hpp"
#include "enum_names.hpp"
#include "impls.hpp"
#include "layer_spec.hpp"

namespace incq::inc_cpu {

template <typename T, typename = void>
struct LayerOptionsOf {
  struct type {};
  static constexpr bool kTakesOptions = false;
};
template <typename T>
struct LayerOptionsOf<T, std::void_t<typename T::Options>> {
  using type = typename T::Options;
  static constexpr bool kTakesOptions = true;
};

template <typename Traits>
struct Lifecycle {
  struct Layer {
    LayerSpec spec;
    typename LayerOptionsOf<Traits>::type options;
    const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
    typename Traits::Weights weights;
    bool ready = false;
  };

  static Layer& layer_of(incq_layer* handle) {
    if (handle == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(Traits::kName) + ": NULL layer");
    return *reinterpret_cast<Layer*>(handle);
  }

  // For apply entries: the layer, once process_weights has succeeded.
  static const Layer& ready_layer(incq_layer* handle) {
    const Layer& layer = layer_of(handle);
    if (!layer.ready)
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': apply before process_weights succeeded");
    return layer;
  }

  static incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device,
                                   incq_error* reason) {
    return guarded(reason, [&] {
      const std::string why = Traits::reason(read_layer_desc(desc), device);
      if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, why);
    });
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
      if constexpr (LayerOptionsOf<Traits>::kTakesOptions) {
        layer->options = Traits::parse_options(options, num_options, layer->spec);
      } else {
        accept_exact_layer_options(options, num_options, "layer '" + layer->spec.name + "'");
      }
      *out = reinterpret_cast<incq_layer*>(layer.release());
    });
  }

  static incq_status set_weights(incq_layer* handle, const incq_weight_bundle* weights, incq_error* err) {
    return guarded(err, [&] {
      Layer& layer = layer_of(handle);
      BundleTensors check(weights, layer.spec.name);  // struct sizes and names, early
      if (check.packing() != layer.spec.packing) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': bundle packing " +
                                            packing_name(check.packing()) + " differs from the scheme's " +
                                            packing_name(layer.spec.packing));
      }
      layer.pending = weights;
    });
  }

  static incq_status process_weights(incq_layer* handle, incq_error* err) {
    return guarded(err, [&] {
      Layer& layer = layer_of(handle);
      // Whatever happens, no pointer into the bundle survives this call.
      const incq_weight_bundle* bundle = layer.pending;
      layer.pending = nullptr;
      if (bundle == nullptr)
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': process_weights before set_weights");
      BundleTensors tensors(bundle, layer.spec.name);
      typename Traits::Weights loaded = Traits::load(tensors, layer.spec);
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

  // A descriptor with the lifecycle entries filled in; the caller sets the capabilities and apply.
  static incq_impl_desc base_desc(int32_t module_kind) {
    incq_impl_desc d{};
    d.struct_size = sizeof d;
    d.name = Traits::kName;
    d.module_kind = module_kind;
    d.can_implement = can_implement;
    d.create = create;
    d.set_weights = set_weights;
    d.process_weights = process_weights;
    d.destroy = destroy;
    d.resident_bytes = resident_bytes;
    return d;
  }
};

}  // namespace incq::inc_cpu

#endif
