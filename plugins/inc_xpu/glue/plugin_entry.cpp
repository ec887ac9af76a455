// inc_xpu's entry table: initialize (options, registration), probe (cached availability with the
// exact reason), shutdown.
#include <cstdio>
#include <string>

#include "impls.hpp"
#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"
#include "runtime.hpp"

namespace incq::inc_xpu {
namespace {

incq_status initialize(const incq_host_api* host, const incq_kv* options, size_t num_options, incq_error* err) {
  return guarded(err, [&] {
    if (host == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: initialize got no host table");
    if (!INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == nullptr)
      fail(INCQ_ERR_ABI, "inc_xpu: the host table has no register_impl");
    if (host->abi_major != INCQ_ABI_VERSION_MAJOR)
      fail(INCQ_ERR_ABI, "inc_xpu: host ABI major " + std::to_string(host->abi_major) + ", plugin built for " +
                             std::to_string(INCQ_ABI_VERSION_MAJOR));
    // Options are checked here; OpenCL itself is touched only by the first probe or layer.
    set_runtime(std::make_unique<Runtime>(parse_plugin_options(options, num_options)));
    for (const incq_impl_desc* desc : all_impls()) {
      incq_error e{};
      e.struct_size = sizeof e;
      if (host->register_impl(host->host_ctx, desc, &e) != INCQ_OK) {
        set_runtime(nullptr);
        fail(INCQ_ERR_INTERNAL, std::string("inc_xpu: registering '") + desc->name + "' failed: " + e.message);
      }
    }
  });
}

void shutdown() { set_runtime(nullptr); }

incq_status probe(int32_t device_type, incq_availability* out) {
  return guarded(nullptr, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "probe: NULL output");
    if (!INCQ_HAS_FIELD(out, incq_availability, detail))
      fail(INCQ_ERR_ABI, "probe: incq_availability struct_size " + std::to_string(out->struct_size) + " lacks 'detail'");
    if (device_type != INCQ_DEVICE_OPENCL) {
      out->available = 0;
      std::snprintf(out->detail, sizeof out->detail, "%s", "inc_xpu runs on OpenCL devices only");
      return;
    }
    const Availability& a = runtime().availability();
    out->available = a.usable ? 1 : 0;
    std::snprintf(out->detail, sizeof out->detail, "%s", a.detail.c_str());
  });
}

const incq_plugin_api kApi = {
    sizeof(incq_plugin_api), INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR, "inc_xpu", "0.1.0",
    initialize, shutdown, probe,
};

}  // namespace
}  // namespace incq::inc_xpu

extern "C" INCQ_EXPORT const incq_plugin_api* incq_plugin_get_api(void) { return &incq::inc_xpu::kApi; }
