// ABI glue of "inc_cpu.ref.int_wo_moe": descriptor and layer lifecycle around the reference MoE.
// Every entry is guarded: no exception crosses the ABI.
#include <memory>

#include "bundle_tensors.hpp"
#include "enum_names.hpp"
#include "impls.hpp"
#include "int_wo_experts.hpp"
#include "int_wo_support.hpp"
#include "layer_spec.hpp"
#include "ref_int_wo_linear.hpp"
#include "ref_int_wo_moe.hpp"

namespace incq::inc_cpu {
namespace {

constexpr const char* kName = "inc_cpu.ref.int_wo_moe";

struct MoeLayer {
  LayerSpec spec;
  const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
  IntWoExperts experts;
  bool ready = false;
};

MoeLayer& as_moe(incq_layer* layer) {
  if (layer == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": NULL layer");
  return *reinterpret_cast<MoeLayer*>(layer);
}

incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device,
                          incq_error* reason) {
  return guarded(reason, [&] {
    const std::string why = int_wo_moe_reason(read_layer_desc(desc), device);
    if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, why);
  });
}

incq_status create(void*, const incq_layer_desc* desc, const incq_device* device,
                   const incq_kv* options, size_t num_options, incq_layer** out, incq_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": create: NULL out");
    *out = nullptr;
    auto layer = std::make_unique<MoeLayer>();
    layer->spec = read_layer_desc(desc);
    const std::string why = int_wo_moe_reason(layer->spec, device);
    if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer->spec.name + "': " + why);
    reject_options(options, num_options, "layer '" + layer->spec.name + "'");
    *out = reinterpret_cast<incq_layer*>(layer.release());
  });
}

incq_status set_weights(incq_layer* handle, const incq_weight_bundle* weights, incq_error* err) {
  return guarded(err, [&] {
    MoeLayer& layer = as_moe(handle);
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
    MoeLayer& layer = as_moe(handle);
    // Whatever happens, no pointer into the bundle survives this call.
    const incq_weight_bundle* bundle = layer.pending;
    layer.pending = nullptr;
    if (bundle == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer.spec.name + "': process_weights before set_weights");
    }
    const LayerSpec& s = layer.spec;
    BundleTensors tensors(bundle, s.name);
    const IntWoFormat format{s.bits, s.packing, s.group_size, s.sym != 0};
    IntWoExperts loaded = load_int_wo_experts(tensors, s.name, s.num_experts, s.hidden_size,
                                              s.intermediate_size, format, s.has_bias != 0);
    tensors.reject_unused();
    layer.experts = std::move(loaded);
    layer.ready = true;
  });
}

incq_status apply_moe(incq_layer* handle, const incq_tensor* hidden, const incq_tensor* topk_ids,
                      const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec,
                      incq_error* err) {
  return guarded(err, [&] {
    const MoeLayer& layer = as_moe(handle);
    if (!layer.ready) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer.spec.name + "': apply before process_weights succeeded");
    }
    ref_int_wo_moe_apply(layer.experts, layer.spec.name, layer.spec.act_dtype, layer.spec.top_k,
                         hidden, topk_ids, topk_weights, out, exec);
  });
}

void destroy(incq_layer* handle) { delete reinterpret_cast<MoeLayer*>(handle); }

incq_status resident_bytes(incq_layer* handle, uint64_t* bytes, incq_error* err) {
  return guarded(err, [&] {
    const MoeLayer& layer = as_moe(handle);
    if (bytes == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "resident_bytes: NULL output");
    *bytes = layer.experts.resident_bytes();
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = kName;
  d.module_kind = INCQ_MODULE_MOE;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // any group size: -1 or any positive one (ceil(K/G) groups)
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask =
      INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;
  d.tolerance = kRefIntWoTolerance;  // same double-precision path as the Linear reference
  d.impl_ctx = nullptr;
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = nullptr;
  d.apply_moe = apply_moe;
  d.destroy = destroy;
  d.resident_bytes = resident_bytes;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
