// The ark plugin's entry table. Loading and initializing never touch Python: the runtime is
// probed on the first probe() (or at initialize with use=require) and the answer is cached.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ark_runtime.hpp"
#include "impls.hpp"
#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace incq::ark {
namespace {

incq_status initialize(const incq_host_api* host, const incq_kv* options, size_t num_options, incq_error* err) {
  return guarded(err, [&] {
    if (host == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "ark: initialize got no host table");
    if (!INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == nullptr)
      fail(INCQ_ERR_ABI, "ark: the host table has no register_impl");
    if (host->abi_major != INCQ_ABI_VERSION_MAJOR)
      fail(INCQ_ERR_ABI, "ark: host ABI major " + std::to_string(host->abi_major) + ", plugin built for " +
                             std::to_string(INCQ_ABI_VERSION_MAJOR));
    ArkSettings settings;
    std::string use = "auto";
    for (size_t i = 0; i < num_options; ++i) {
      const std::string key = options[i].key ? options[i].key : "", value = options[i].value ? options[i].value : "";
      if (key == "python") {
        settings.python = value;
        settings.python_source = "plugin option 'python'";
      } else if (key == "use") {
        if (value != "auto" && value != "never" && value != "require")
          fail(INCQ_ERR_INVALID_ARGUMENT, "ark: plugin option use = '" + value + "' (expected auto, never or require)");
        use = value;
      } else {
        fail(INCQ_ERR_INVALID_ARGUMENT, "ark: unknown plugin option '" + key + "' (known: python, use)");
      }
    }
    // The environment overrides the config file, as for the host's own settings.
    if (const char* env = std::getenv("INCQ_ARK_PYTHON"); env != nullptr && *env != '\0') {
      settings.python = env;
      settings.python_source = "INCQ_ARK_PYTHON";
    }
    settings.never = use == "never";
    configure_ark(settings);
    if (use == "require") {
      const ArkState& st = ark_state();
      if (!st.cpu_available) fail(INCQ_ERR_UNAVAILABLE, "ark: use=require but ARK is not usable: " + st.cpu_detail);
    }
    for (const incq_impl_desc* d : all_impls()) {
      incq_error e{};
      e.struct_size = sizeof e;
      const incq_status s = host->register_impl(host->host_ctx, d, &e);
      if (s != INCQ_OK) fail(s, std::string("ark: registering '") + d->name + "' failed: " + e.message);
    }
  });
}

// Layers own their blobs; the interpreter (if this plugin started it) stays up: CPython cannot be
// restarted safely in one process, and the plugin may be loaded again.
void shutdown() {}

incq_status probe(int32_t device_type, incq_availability* out) {
  return guarded(nullptr, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "probe: NULL output");
    if (!INCQ_HAS_FIELD(out, incq_availability, detail))
      fail(INCQ_ERR_ABI, "probe: incq_availability struct_size " + std::to_string(out->struct_size) + " lacks 'detail'");
    const ArkState& st = ark_state();
    bool ok = false;
    std::string detail;
    if (device_type == INCQ_DEVICE_CPU) {
      ok = st.cpu_available;
      detail = st.cpu_detail;
    } else if (device_type == INCQ_DEVICE_OPENCL) {
      ok = st.xpu_available;
      detail = st.xpu_detail;
    } else {
      detail = "unknown device type " + std::to_string(device_type);
    }
    out->available = ok ? 1 : 0;
    std::snprintf(out->detail, sizeof out->detail, "%s", detail.c_str());
  });
}

const incq_plugin_api kApi = {
    sizeof(incq_plugin_api), INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR, "ark", "0.1.0",
    initialize, shutdown, probe,
};

}  // namespace
}  // namespace incq::ark

extern "C" INCQ_EXPORT const incq_plugin_api* incq_plugin_get_api(void) { return &incq::ark::kApi; }
