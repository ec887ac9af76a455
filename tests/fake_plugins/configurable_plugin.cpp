// A well-behaved fake plugin whose answers are set by plugin options, for the selection, fallback
// and settings tests. Compiled once per name (-DFAKE_NAME="fake_alpha" ...), so several copies can
// be loaded side by side. Options (all optional):
//   available=0|1   probe answer on CPU (OpenCL is always unavailable)
//   detail=TEXT     probe detail on CPU
//   priority=N      priority of its implementation
//   accept=yes|no   can_implement's answer
//   reason=TEXT     can_implement's reason when accept=no
//   impl=NAME       name of its implementation (default "<FAKE_NAME>.linear")
// Any other key is rejected, naming it. Its one implementation serves 4-bit GPTQ v2 Linear layers
// on the CPU with F32 activations, and writes the priority into every output element, so a test
// can tell which plugin ran a layer. Layer options (given to create): marker=N writes N instead of
// the priority, so a test can tell which options a layer got; any other key fails create by name.
#include <cstdlib>
#include <string>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

#ifndef FAKE_NAME
#error "compile with -DFAKE_NAME=\"...\""
#endif

namespace {

struct Settings {
  bool available = true;
  std::string detail = std::string("fake plugin ") + FAKE_NAME + " is ready";
  int priority = 0;
  bool accept = true;
  std::string reason = std::string(FAKE_NAME) + " says no";
  std::string impl_name = std::string(FAKE_NAME) + ".linear";
};

// Reset by every initialize: the library may stay mapped between two loads.
Settings g_settings;
incq_impl_desc g_desc{};

struct MarkerLayer {
  int64_t out_features = 0;
  float marker = 0.0f;
  bool processed = false;
};

bool parse_flag(const std::string& key, const std::string& value, const char* yes, const char* no) {
  if (value == yes) return true;
  if (value == no) return false;
  incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string(FAKE_NAME) + ": option '" + key + "' must be " + yes + " or " +
                                            no + ", got '" + value + "'");
}

void apply_option(const std::string& key, const std::string& value) {
  if (key == "available") g_settings.available = parse_flag(key, value, "1", "0");
  else if (key == "detail") g_settings.detail = value;
  else if (key == "priority") g_settings.priority = std::atoi(value.c_str());
  else if (key == "accept") g_settings.accept = parse_flag(key, value, "yes", "no");
  else if (key == "reason") g_settings.reason = value;
  else if (key == "impl") g_settings.impl_name = value;
  else incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string(FAKE_NAME) + ": unknown option '" + key + "'");
}

incq_status can_implement(void*, const incq_layer_desc* desc, const incq_device* device, incq_error* reason) {
  return incq::guarded(reason, [&] {
    if (desc == nullptr || device == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
    if (!g_settings.accept) incq::fail(INCQ_ERR_UNSUPPORTED, g_settings.reason);
  });
}

incq_status create(void*, const incq_layer_desc* desc, const incq_device* device, const incq_kv* options,
                   size_t num_options, incq_layer** out, incq_error* err) {
  return incq::guarded(err, [&] {
    if (desc == nullptr || device == nullptr || out == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
    float marker = static_cast<float>(g_settings.priority);
    for (size_t i = 0; i < num_options; ++i) {
      const std::string key = options[i].key ? options[i].key : "";
      if (key != "marker") incq::fail(INCQ_ERR_INVALID_ARGUMENT, std::string(FAKE_NAME) + ": unknown layer option '" + key + "'");
      marker = static_cast<float>(std::atof(options[i].value ? options[i].value : "0"));
    }
    auto* layer = new MarkerLayer;
    layer->out_features = desc->out_features;
    layer->marker = marker;
    *out = reinterpret_cast<incq_layer*>(layer);
  });
}

incq_status set_weights(incq_layer* layer, const incq_weight_bundle* weights, incq_error* err) {
  return incq::guarded(err, [&] {
    if (layer == nullptr || weights == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  });
}

incq_status process_weights(incq_layer* layer, incq_error* err) {
  return incq::guarded(err, [&] {
    if (layer == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
    reinterpret_cast<MarkerLayer*>(layer)->processed = true;
  });
}

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec*,
                         incq_error* err) {
  return incq::guarded(err, [&] {
    const auto* layer = reinterpret_cast<const MarkerLayer*>(handle);
    if (layer == nullptr || x == nullptr || y == nullptr) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
    if (!layer->processed) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "apply before process_weights");
    if (y->dtype != INCQ_DTYPE_F32) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "F32 output only");
    const int64_t n = incq::numel(*y);
    for (int64_t i = 0; i < n; ++i) static_cast<float*>(y->data)[i] = layer->marker;
  });
}

void destroy(incq_layer* layer) { delete reinterpret_cast<MarkerLayer*>(layer); }

incq_impl_desc make_desc() {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = g_settings.impl_name.c_str();
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.sym_mask = 0x3u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = g_settings.priority;
  d.tolerance = 0.0;
  d.can_implement = can_implement;
  d.create = create;
  d.set_weights = set_weights;
  d.process_weights = process_weights;
  d.apply_linear = apply_linear;
  d.destroy = destroy;
  return d;
}

incq_status initialize(const incq_host_api* host, const incq_kv* options, size_t num_options, incq_error* err) {
  return incq::guarded(err, [&] {
    if (host == nullptr || !INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == nullptr)
      incq::fail(INCQ_ERR_ABI, "no usable host table");
    g_settings = Settings{};
    for (size_t i = 0; i < num_options; ++i)
      apply_option(options[i].key ? options[i].key : "", options[i].value ? options[i].value : "");
    g_desc = make_desc();
    incq_error reg{};
    reg.struct_size = sizeof reg;
    const incq_status st = host->register_impl(host->host_ctx, &g_desc, &reg);
    if (st != INCQ_OK) incq::fail(st, reg.message);
  });
}

void shutdown() {}

incq_status probe(int32_t device_type, incq_availability* out) {
  return incq::guarded(nullptr, [&] {
    if (!INCQ_HAS_FIELD(out, incq_availability, detail)) incq::fail(INCQ_ERR_INVALID_ARGUMENT, "bad output");
    const bool cpu = device_type == INCQ_DEVICE_CPU;
    out->available = cpu && g_settings.available ? 1 : 0;
    const std::string detail = cpu ? g_settings.detail : std::string(FAKE_NAME) + " runs on the CPU only";
    std::snprintf(out->detail, sizeof out->detail, "%s", detail.c_str());
  });
}

const incq_plugin_api kApi = {
    sizeof(incq_plugin_api), INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR, FAKE_NAME, "0.0.1-fake",
    initialize, shutdown, probe,
};

}  // namespace

extern "C" INCQ_EXPORT const incq_plugin_api* incq_plugin_get_api(void) { return &kApi; }
