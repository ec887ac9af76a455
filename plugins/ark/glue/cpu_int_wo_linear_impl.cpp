// ark.cpu.int_wo_linear: integer weight-only Linear (2/4/8-bit, sym and asym, GPTQ v1 / v2, AWQ)
// through ARK's repack and woqgemm ops on the CPU.
#include <memory>
#include <string>

#include "ark_int_weights.hpp"
#include "ark_runtime.hpp"
#include "ark_self_test.hpp"
#include "ark_types.hpp"
#include "bundle_tensors.hpp"
#include "enum_names.hpp"
#include "f32_staging.hpp"
#include "impls.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_matrix.hpp"
#include "int_wo_support.hpp"
#include "layer_spec.hpp"

namespace incq::ark {
namespace {

using inc_cpu::LayerSpec;
constexpr const char* kName = "ark.cpu.int_wo_linear";
// Default: fp32 compute (exact dequantization, fp32 accumulation). ARK's own default ("auto")
// quantizes activations to int8 per group, and its blob is larger than the checkpoint.
constexpr int32_t kDefaultCompute = kArkF32;
constexpr double kResidentBudget = 1.05;  // resident weights vs checkpoint bytes (incq verify)

std::string str(int64_t v) { return std::to_string(v); }

struct Layer {
  LayerSpec spec;
  int32_t compute_type = kDefaultCompute;
  int32_t scale_type = 0;  // chosen by the self-test for (bits, sym, compute_type)
  const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
  ArkIntWeights weights;
  bool ready = false;
};

int32_t parse_compute_type(const std::string& v, const std::string& layer) {
  if (v == "fp32") return kArkF32;
  if (v == "bf16") return kArkBF16;
  if (v == "int8") return kArkInt8;
  if (v == "auto") return kArkUndef;
  fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': option compute_type = '" + v +
                                      "' (expected fp32, bf16, int8 or auto)");
}

std::string reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (ARK has no CPU MoE op)";
  if (s.family != INCQ_FAMILY_INT) return "scheme family " + inc_cpu::family_name(s.family) + " not supported (INT only)";
  if (s.act_bits != 16) return "act_bits = " + str(s.act_bits) + " not supported (weight-only)";
  if (s.bits != 2 && s.bits != 4 && s.bits != 8) return "bits = " + str(s.bits) + " not supported by ARK on CPU (2, 4, 8)";
  if (s.packing != INCQ_PACKING_GPTQ_V1 && s.packing != INCQ_PACKING_GPTQ_V2 && s.packing != INCQ_PACKING_AWQ)
    return "packing " + inc_cpu::packing_name(s.packing) + " not supported (GPTQ_V1, GPTQ_V2, AWQ)";
  if (s.packing == INCQ_PACKING_AWQ && s.bits != 4) return "AWQ packing is 4-bit only";
  if (s.has_g_idx) return "g_idx (act-order) not supported: ARK's repack takes no g_idx";
  if (s.act_dtype != INCQ_DTYPE_F32 && s.act_dtype != INCQ_DTYPE_BF16 && s.act_dtype != INCQ_DTYPE_F16)
    return std::string("activation dtype ") + dtype_name(s.act_dtype) + " not supported (F32, BF16, F16)";
  std::string why = inc_cpu::cpu_device_reason(device);
  if (!why.empty()) return why;
  const int64_t K = s.in_features, N = s.out_features;
  why = inc_cpu::int_wo_shape_reason(s.bits, s.packing, K, N);
  if (!why.empty()) return why;
  if (s.group_size == 0 || s.group_size < -1) return "group_size = " + str(s.group_size) + " invalid";
  const int64_t G = s.group_size == -1 ? K : s.group_size;
  if (K % G != 0) return "K = " + str(K) + " not a multiple of group_size " + str(G) + " (ARK needs whole groups)";
  const ArkState& st = ark_state();
  if (!st.cpu_available) return "ARK is not usable: " + st.cpu_detail;
  return "";
}

// Selection policy on top of capability (can_implement only; an explicit create still works):
// the default configuration passed the self-test on this CPU, and its blob fits the footprint.
std::string selection_reason(const LayerSpec& s) {
  const ArkConfigResult& c = ark_config_check(s.bits, s.sym == 0, kDefaultCompute);
  if (!c.ok) return c.detail;
  const int64_t K = s.in_features, N = s.out_features;
  const int64_t G = s.group_size == -1 ? K : s.group_size;
  // ARK's layout carries fixed per-matrix overhead and per-group metadata; where it would exceed the
  // checkpoint footprint the layer stays with the plugin that keeps it (DESIGN §2 step 4).
  const uint64_t packed = ark_int_packed_bytes(K, N, s.bits, G, !s.sym, kDefaultCompute, c.scale_type) +
                          (s.has_bias ? static_cast<uint64_t>(N) * 4 : 0);
  const uint64_t ckpt = checkpoint_int_bytes(K, N, s.bits, G, s.has_bias != 0);
  if (static_cast<double>(packed) > kResidentBudget * static_cast<double>(ckpt)) {
    return "ARK's packed layout would hold " + str(static_cast<int64_t>(packed)) + " bytes, over 1.05 x the " +
           str(static_cast<int64_t>(ckpt)) + " checkpoint bytes (fixed per-matrix overhead dominates small layers)";
  }
  return "";
}

Layer& layer_of(incq_layer* h) {
  if (h == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": NULL layer");
  return *reinterpret_cast<Layer*>(h);
}

incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device, incq_error* err) {
  return guarded(err, [&] {
    const LayerSpec spec = inc_cpu::read_layer_desc(desc);
    std::string why = reason(spec, device);
    if (why.empty()) why = selection_reason(spec);
    if (!why.empty()) fail(INCQ_ERR_UNSUPPORTED, why);
  });
}

incq_status create(void*, const incq_layer_desc* desc, const incq_device* device, const incq_kv* options,
                   size_t num_options, incq_layer** out, incq_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, std::string(kName) + ": create: NULL out");
    *out = nullptr;
    auto layer = std::make_unique<Layer>();
    layer->spec = inc_cpu::read_layer_desc(desc);
    const std::string why = reason(layer->spec, device);
    if (!why.empty()) fail(ark_state().cpu_available ? INCQ_ERR_UNSUPPORTED : INCQ_ERR_UNAVAILABLE,
                           "layer '" + layer->spec.name + "': " + why);
    for (size_t i = 0; i < num_options; ++i) {
      const std::string key = options[i].key ? options[i].key : "", value = options[i].value ? options[i].value : "";
      if (key == "compute_type") layer->compute_type = parse_compute_type(value, layer->spec.name);
      else fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer->spec.name + "': unknown option '" + key +
                                               "' for " + kName + " (known: compute_type)");
    }
    // The configuration this layer will run must have passed the self-test on this CPU.
    const ArkConfigResult& c = ark_config_check(layer->spec.bits, layer->spec.sym == 0, layer->compute_type);
    if (!c.ok) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer->spec.name + "': " + c.detail);
    layer->scale_type = c.scale_type;
    *out = reinterpret_cast<incq_layer*>(layer.release());
  });
}

incq_status set_weights(incq_layer* h, const incq_weight_bundle* weights, incq_error* err) {
  return guarded(err, [&] {
    Layer& layer = layer_of(h);
    inc_cpu::BundleTensors check(weights, layer.spec.name);
    if (check.packing() != layer.spec.packing)
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': bundle packing " +
                                          inc_cpu::packing_name(check.packing()) + " differs from the scheme's " +
                                          inc_cpu::packing_name(layer.spec.packing));
    layer.pending = weights;
  });
}

incq_status process_weights(incq_layer* h, incq_error* err) {
  return guarded(err, [&] {
    Layer& layer = layer_of(h);
    const incq_weight_bundle* bundle = layer.pending;
    layer.pending = nullptr;  // no pointer into the bundle survives this call
    if (bundle == nullptr)
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': process_weights before set_weights");
    const LayerSpec& s = layer.spec;
    inc_cpu::BundleTensors tensors(bundle, s.name);
    const inc_cpu::IntWoFormat format{s.bits, s.packing, s.group_size, s.sym != 0};
    const inc_cpu::IntWoMatrix m =
        inc_cpu::load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features, format, s.has_bias != 0);
    tensors.reject_unused();
    layer.weights = repack_int_matrix(m, layer.compute_type, layer.scale_type, s.name);
    layer.ready = true;
  });
}

void check_activation(const incq_tensor* t, const char* what, int64_t rows, int64_t cols, const LayerSpec& s) {
  const std::string where = "layer '" + s.name + "': " + what;
  if (t == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + " is NULL");
  if (!INCQ_HAS_FIELD(t, incq_tensor, device_index)) fail(INCQ_ERR_ABI, where + ": incq_tensor struct_size too small");
  if (t->device_type != INCQ_DEVICE_CPU) fail(INCQ_ERR_INVALID_ARGUMENT, where + " is not in CPU memory");
  if (t->ndim != 2) fail(INCQ_ERR_INVALID_ARGUMENT, where + " must be 2-D, got ndim " + str(t->ndim));
  if ((rows >= 0 && t->shape[0] != rows) || t->shape[1] != cols || t->shape[0] < 0)
    fail(INCQ_ERR_INVALID_ARGUMENT, where + " shape [" + str(t->shape[0]) + ", " + str(t->shape[1]) + "], expected [" +
                                        (rows >= 0 ? str(rows) : std::string("M")) + ", " + str(cols) + "]");
  if (t->dtype != INCQ_DTYPE_F32 && t->dtype != INCQ_DTYPE_BF16 && t->dtype != INCQ_DTYPE_F16)
    fail(INCQ_ERR_INVALID_ARGUMENT, where + std::string(" dtype ") + dtype_name(t->dtype) + " (F32, BF16, F16)");
  if (t->shape[0] > 0 && t->data == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + " has NULL data");
}

incq_status apply_linear(incq_layer* h, const incq_tensor* x, incq_tensor* y, const incq_exec* exec, incq_error* err) {
  return guarded(err, [&] {
    const Layer& layer = layer_of(h);
    if (!layer.ready)
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer.spec.name + "': apply before process_weights succeeded");
    const LayerSpec& s = layer.spec;
    check_activation(x, "x", -1, s.in_features, s);
    check_activation(y, "y", x->shape[0], s.out_features, s);
    if (y->dtype != x->dtype) fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + s.name + "': y dtype differs from x dtype");
    const int64_t M = x->shape[0];
    if (M == 0) return;
    int32_t threads = 0;  // 0: ARK's OpenMP default
    if (exec != nullptr && INCQ_HAS_FIELD(exec, incq_exec, max_threads) && exec->max_threads > 0)
      threads = exec->max_threads;
    const ArkIntWeights& w = layer.weights;
    const float* xs = stage_input(*x);
    float* ys = output_target(*y);
    ark_woqgemm(w.format, M, xs, w.blob.get(), w.blob_bytes, ys, w.bias.empty() ? nullptr : w.bias.data(), threads);
    finish_output(*y, ys);
  });
}

void destroy(incq_layer* h) { delete reinterpret_cast<Layer*>(h); }

incq_status resident_bytes(incq_layer* h, uint64_t* bytes, incq_error* err) {
  return guarded(err, [&] {
    const Layer& layer = layer_of(h);
    if (bytes == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "resident_bytes: NULL output");
    *bytes = layer.weights.blob_bytes + layer.weights.bias.size() * sizeof(float);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = kName;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // any that divides K
  d.num_group_sizes = 0;
  d.sym_mask = 1u | 2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  // Above inc_cpu (AutoRound's own backend registry prefers ARK), where can_implement accepts.
  d.priority = 200;
  // The loosest compute_type a layer option may select bounds the contract: int8 (ARK's
  // dynamic per-group activation quantization, measured <= 4.1e-3 of sum|x*w| on Gaussian
  // activations) and bf16 (two roundings at 2^-8 each). The default fp32 compute measures ~3e-7.
  d.tolerance = 1e-2;
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = apply_linear;
  d.destroy = destroy;
  d.resident_bytes = resident_bytes;
  return d;
}

}  // namespace

const incq_impl_desc* cpu_int_wo_linear_impl() {
  static const incq_impl_desc d = make_desc();
  return &d;
}

}  // namespace incq::ark
