// example_echo: a minimal third-party incq plugin written against the installed headers only. It
// registers one Linear implementation for 8-bit symmetric GPTQ v2 weights with f32 activations, at
// priority -10 so it never wins over a real plugin unless asked for by name
// (--backend example_echo.int8_gptq_v2_linear). It dequantizes once in process_weights and runs a
// plain matmul in apply: easy to read, not fast.
#include <incq/plugin_api.h>
#include <incq/plugin_helpers.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char* kImplName = "example_echo.int8_gptq_v2_linear";

struct Layer {
  std::string name;
  int64_t k = 0, n = 0, group_size = 0;
  const incq_weight_bundle* pending = nullptr;  // BORROWED until process_weights returns
  std::vector<float> weight;                    // [K, N], dequantized
  std::vector<float> bias;                      // [N], or empty
};

// Why this implementation cannot run a layer; empty when it can.
std::string why_not(const incq_layer_desc* d, const incq_device* device) {
  if (!INCQ_HAS_FIELD(d, incq_layer_desc, out_features)) return "layer descriptor too small";
  const incq_scheme& s = d->scheme;
  if (device == nullptr || device->type != INCQ_DEVICE_CPU) return "runs on the CPU only";
  if (d->module_kind != INCQ_MODULE_LINEAR) return "Linear layers only";
  if (s.family != INCQ_FAMILY_INT || s.bits != 8 || s.sym != 1) return "8-bit symmetric INT only";
  if (s.packing != INCQ_PACKING_GPTQ_V2) return "GPTQ v2 packing only";
  if (s.act_bits != 16 || d->act_dtype != INCQ_DTYPE_F32) return "f32 activations, weight-only";
  if (d->in_features <= 0 || d->in_features % 4 != 0 || d->out_features % 4 != 0)
    return "K and N must be positive multiples of 4 (four 8-bit codes per int32 word)";
  if (s.group_size != -1 && (s.group_size <= 0 || d->in_features % s.group_size != 0))
    return "group size must be -1 or divide K";
  return "";
}

// The named tensor of the bundle, checked to be a contiguous CPU [rows, cols] matrix (cols 0:
// a vector of `rows`); NULL when absent and optional.
const incq_tensor* tensor(const incq_weight_bundle* b, const char* name, int64_t rows, int64_t cols,
                          bool required) {
  for (size_t i = 0; i < b->num_tensors; ++i) {
    const incq_tensor& t = b->tensors[i].tensor;
    if (std::string(b->tensors[i].name) != name) continue;
    const bool shape_ok = cols == 0 ? (t.ndim == 1 && t.shape[0] == rows)
                                    : (t.ndim == 2 && t.shape[0] == rows && t.shape[1] == cols);
    if (!shape_ok || t.device_type != INCQ_DEVICE_CPU || !incq::is_contiguous(t))
      incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string(name) + ": unexpected shape or layout");
    return &t;
  }
  if (required) incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string("missing tensor ") + name);
  return nullptr;
}

float as_float(const incq_tensor& t, int64_t i) {
  switch (t.dtype) {
    case INCQ_DTYPE_F32: return static_cast<const float*>(t.data)[i];
    case INCQ_DTYPE_F16: return incq::half_to_float(static_cast<const uint16_t*>(t.data)[i]);
    case INCQ_DTYPE_BF16: return incq::bf16_to_float(static_cast<const uint16_t*>(t.data)[i]);
    default: incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string("float tensor has dtype ") + incq::dtype_name(t.dtype));
  }
}

int32_t as_i32(const incq_tensor& t, int64_t i) {
  if (t.dtype != INCQ_DTYPE_I32) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "packed tensors must be I32");
  return static_cast<const int32_t*>(t.data)[i];
}

incq_status can_implement(void*, const incq_layer_desc* d, const incq_device* dev, incq_error* reason) {
  return incq::guarded(reason, [&] {
    const std::string why = why_not(d, dev);
    if (!why.empty()) incq::fail(INCQ_ERR_UNSUPPORTED, why);
  });
}

incq_status create(void*, const incq_layer_desc* d, const incq_device* dev, const incq_kv*,
                   size_t num_options, incq_layer** out, incq_error* err) {
  return incq::guarded(err, [&] {
    const std::string why = why_not(d, dev);
    if (!why.empty()) incq::fail(INCQ_ERR_UNSUPPORTED, why);
    if (num_options != 0) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "example_echo takes no options");
    auto layer = std::make_unique<Layer>();
    layer->name = d->name ? d->name : "?";
    layer->k = d->in_features;
    layer->n = d->out_features;
    layer->group_size = d->scheme.group_size == -1 ? d->in_features : d->scheme.group_size;
    *out = reinterpret_cast<incq_layer*>(layer.release());
  });
}

incq_status set_weights(incq_layer* handle, const incq_weight_bundle* w, incq_error* err) {
  return incq::guarded(err, [&] {
    if (!INCQ_HAS_FIELD(w, incq_weight_bundle, tensors) || w->packing != INCQ_PACKING_GPTQ_V2)
      incq::fail(INCQ_ERR_INVALID_ARGUMENT, "expected a GPTQ v2 weight bundle");
    reinterpret_cast<Layer*>(handle)->pending = w;
  });
}

// GPTQ with 8 bits: qweight [K/4, N] holds rows 4r..4r+3 of column n in the bytes of word (r, n);
// qzeros [G, N/4] holds columns 4c..4c+3 of group g in the bytes of word (g, c). w = (q - z) * s.
incq_status process_weights(incq_layer* handle, incq_error* err) {
  return incq::guarded(err, [&] {
    Layer& l = *reinterpret_cast<Layer*>(handle);
    const incq_weight_bundle* b = l.pending;
    l.pending = nullptr;  // no pointer into the bundle survives this call
    if (b == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "process_weights before set_weights");
    const int64_t groups = l.k / l.group_size;
    const incq_tensor& qweight = *tensor(b, "qweight", l.k / 4, l.n, true);
    const incq_tensor& qzeros = *tensor(b, "qzeros", groups, l.n / 4, true);
    const incq_tensor& scales = *tensor(b, "scales", groups, l.n, true);
    const incq_tensor* g_idx = tensor(b, "g_idx", l.k, 0, false);
    const incq_tensor* bias = tensor(b, "bias", l.n, 0, false);
    l.weight.resize(static_cast<size_t>(l.k * l.n));
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t g = g_idx ? as_i32(*g_idx, k) : k / l.group_size;
      if (g < 0 || g >= groups) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "g_idx out of range");
      for (int64_t n = 0; n < l.n; ++n) {
        const uint32_t q = (static_cast<uint32_t>(as_i32(qweight, (k / 4) * l.n + n)) >> (8 * (k % 4))) & 0xFFu;
        const uint32_t z = (static_cast<uint32_t>(as_i32(qzeros, g * (l.n / 4) + n / 4)) >> (8 * (n % 4))) & 0xFFu;
        l.weight[k * l.n + n] = (static_cast<float>(q) - static_cast<float>(z)) * as_float(scales, g * l.n + n);
      }
    }
    l.bias.clear();
    for (int64_t n = 0; bias && n < l.n; ++n) l.bias.push_back(as_float(*bias, n));
  });
}

// y [M, N] = x [M, K] * W + bias, accumulated in double. Reads the layer only: re-entrant.
incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec*,
                         incq_error* err) {
  return incq::guarded(err, [&] {
    const Layer& l = *reinterpret_cast<const Layer*>(handle);
    if (l.weight.empty()) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "apply before process_weights");
    if (x == nullptr || y == nullptr || x->dtype != INCQ_DTYPE_F32 || y->dtype != INCQ_DTYPE_F32 ||
        x->ndim != 2 || y->ndim != 2 || x->shape[1] != l.k || y->shape[1] != l.n ||
        x->shape[0] != y->shape[0] || !incq::is_contiguous(*x) || !incq::is_contiguous(*y))
      incq::fail(INCQ_ERR_INVALID_ARGUMENT, "apply: x must be f32 [M, K] and y f32 [M, N], contiguous");
    const float* xs = static_cast<const float*>(x->data);
    float* ys = static_cast<float*>(y->data);
    for (int64_t m = 0; m < x->shape[0]; ++m) {
      std::vector<double> acc(static_cast<size_t>(l.n), 0.0);
      for (int64_t k = 0; k < l.k; ++k)
        for (int64_t n = 0; n < l.n; ++n) acc[n] += static_cast<double>(xs[m * l.k + k]) * l.weight[k * l.n + n];
      for (int64_t n = 0; n < l.n; ++n) ys[m * l.n + n] = static_cast<float>(acc[n] + (l.bias.empty() ? 0.0 : l.bias[n]));
    }
  });
}

void destroy(incq_layer* handle) { delete reinterpret_cast<Layer*>(handle); }

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = kImplName;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(8);
  d.sym_mask = 1u << 1;  // symmetric only
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = -10;
  d.tolerance = 1e-6;  // fp32 dequantization (one rounding) and double accumulation
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = apply_linear;
  d.destroy = destroy;
  return d;
}
const incq_impl_desc kDesc = make_desc();  // OWNED(plugin): static, valid until unload

incq_status initialize(const incq_host_api* host, const incq_kv*, size_t num_options, incq_error* err) {
  return incq::guarded(err, [&] {
    if (!INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == nullptr ||
        host->abi_major != INCQ_ABI_VERSION_MAJOR)
      incq::fail(INCQ_ERR_ABI, "example_echo: unsupported host table");
    if (num_options != 0) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "example_echo takes no options");
    incq_error inner{};
    inner.struct_size = sizeof inner;
    const incq_status st = host->register_impl(host->host_ctx, &kDesc, &inner);
    if (st != INCQ_OK) incq::fail(st, std::string("example_echo: register_impl: ") + inner.message);
  });
}

void shutdown() {}  // nothing global to release

incq_status probe(int32_t device_type, incq_availability* out) {
  if (!INCQ_HAS_FIELD(out, incq_availability, detail)) return INCQ_ERR_ABI;
  out->available = device_type == INCQ_DEVICE_CPU ? 1 : 0;
  std::snprintf(out->detail, sizeof out->detail, "%s",
                out->available ? "example plugin: plain fp32 dequantize-and-matmul" : "CPU only");
  return INCQ_OK;
}

const incq_plugin_api kApi = {sizeof(incq_plugin_api), INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR,
                              "example_echo", "0.1.0", initialize, shutdown, probe};

}  // namespace

extern "C" INCQ_EXPORT const incq_plugin_api* incq_plugin_get_api(void) { return &kApi; }
