// ABI glue of "inc_cpu.ref.int_wo_linear": descriptor and layer lifecycle around the reference
// kernel. Every entry is guarded: no exception crosses the ABI.
#include <memory>

#include "bundle_tensors.hpp"
#include "enum_names.hpp"
#include "impls.hpp"
#include "int_wo_matrix.hpp"
#include "int_wo_support.hpp"
#include "layer_spec.hpp"
#include "ref_int_wo_linear.hpp"

namespace incq::inc_cpu {
namespace {

constexpr const char* kName = "inc_cpu.ref.int_wo_linear";

struct LinearLayer {
  LayerSpec spec;
  const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
  IntWoMatrix weights;
  bool ready = false;
};

LinearLayer& as_linear(incq_layer* layer) {
  if (layer == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": NULL layer");
  return *reinterpret_cast<LinearLayer*>(layer);
}

IntWoFormat format_of(const LayerSpec& s) {
  return IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0};
}

incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device,
                          incq_error* reason) {
  return guarded(reason, [&] {
    const std::string why = int_wo_linear_reason(read_layer_desc(desc), device);
    if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, why);
  });
}

incq_status create(void*, const incq_layer_desc* desc, const incq_device* device,
                   const incq_kv* options, size_t num_options, incq_layer** out, incq_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": create: NULL out");
    *out = nullptr;
    auto layer = std::make_unique<LinearLayer>();
    layer->spec = read_layer_desc(desc);
    const std::string why = int_wo_linear_reason(layer->spec, device);
    if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer->spec.name + "': " + why);
    reject_options(options, num_options, "layer '" + layer->spec.name + "'");
    *out = reinterpret_cast<incq_layer*>(layer.release());
  });
}

incq_status set_weights(incq_layer* handle, const incq_weight_bundle* weights, incq_error* err) {
  return guarded(err, [&] {
    LinearLayer& layer = as_linear(handle);
    BundleTensors check(weights, layer.spec.name);  // struct sizes and names, early
    if (check.packing() != layer.spec.packing) {
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': bundle packing " +
                                          packing_name(check.packing()) +
                                          " differs from the scheme's " +
                                          packing_name(layer.spec.packing));
    }
    layer.pending = weights;
  });
}

incq_status process_weights(incq_layer* handle, incq_error* err) {
  return guarded(err, [&] {
    LinearLayer& layer = as_linear(handle);
    // Whatever happens, no pointer into the bundle survives this call.
    const incq_weight_bundle* bundle = layer.pending;
    layer.pending = nullptr;
    if (bundle == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer.spec.name + "': process_weights before set_weights");
    }
    const LayerSpec& s = layer.spec;
    BundleTensors tensors(bundle, s.name);
    IntWoMatrix loaded = load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                            format_of(s), s.has_bias != 0);
    tensors.reject_unused();
    layer.weights = std::move(loaded);
    layer.ready = true;
  });
}

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y,
                         const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const LinearLayer& layer = as_linear(handle);
    if (!layer.ready) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer.spec.name + "': apply before process_weights succeeded");
    }
    ref_int_wo_linear_apply(layer.weights, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

void destroy(incq_layer* handle) { delete reinterpret_cast<LinearLayer*>(handle); }

incq_status resident_bytes(incq_layer* handle, uint64_t* bytes, incq_error* err) {
  return guarded(err, [&] {
    const LinearLayer& layer = as_linear(handle);
    if (bytes == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "resident_bytes: NULL output");
    *bytes = layer.weights.resident_bytes();
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = kName;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  // NULL: any group size; can_implement accepts -1 and every positive one (ceil(K/G) groups).
  d.group_sizes = nullptr;
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask =
      INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;  // the oracle: any faster implementation should win automatic selection
  d.tolerance = kRefIntWoTolerance;  // why: see ref_int_wo_linear.hpp
  d.impl_ctx = nullptr;
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = apply_linear;
  d.apply_moe = nullptr;
  d.destroy = destroy;
  d.resident_bytes = resident_bytes;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
