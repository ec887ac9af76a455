// The plugin's entry table: initialize (registration), probe, shutdown.
#include <string>

#include "impls.hpp"
#include "int_fast/worker_pool.hpp"
#include "int_fast_options.hpp"
#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

void register_one(const incq_host_api* host, const incq_impl_desc* desc) {
  incq_error err{};
  err.struct_size = sizeof err;
  const incq_status status = host->register_impl(host->host_ctx, desc, &err);
  if (status != INCQ_OK) {
    fail(status, std::string("inc_cpu: registering '") + desc->name + "' failed: " + err.message);
  }
}

incq_status initialize(const incq_host_api* host, const incq_kv* options, size_t num_options,
                       incq_error* err) {
  return guarded(err, [&] {
    if (host == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "inc_cpu: initialize got no host table");
    if (!INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == nullptr) {
      fail(INCQ_ERR_ABI, "inc_cpu: the host table has no register_impl");
    }
    if (host->abi_major != INCQ_ABI_VERSION_MAJOR) {
      fail(INCQ_ERR_ABI, "inc_cpu: host ABI major " + std::to_string(host->abi_major) +
                             ", plugin built for " + std::to_string(INCQ_ABI_VERSION_MAJOR));
    }
    apply_plugin_options(options, num_options);  // isa, max_threads (glue/int_fast_options.cpp)
    try {
      for (const incq_impl_desc* desc : all_impls()) register_one(host, desc);
    } catch (...) {
      int_fast::stop_worker_pool();  // a failed initialize gets no shutdown: no thread may outlive it
      throw;
    }
  });
}

// Descriptors are static and layers own their storage; only inc_cpu's worker threads need joining.
void shutdown() { int_fast::stop_worker_pool(); }

incq_status probe(int32_t device_type, incq_availability* out) {
  return guarded(nullptr, [&] {
    if (out == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "probe: NULL output");
    // The answer never changes, so there is nothing to cache beyond these constants. The caller
    // sized `out` (struct_size): write only what fits.
    if (!INCQ_HAS_FIELD(out, incq_availability, detail))
      fail(INCQ_ERR_ABI, "probe: incq_availability struct_size " + std::to_string(out->struct_size) + " lacks 'detail'");
    const bool cpu = device_type == INCQ_DEVICE_CPU;
    out->available = cpu ? 1 : 0;
    std::snprintf(out->detail, sizeof out->detail, "%s",
                  cpu ? "reference x86-64 kernels (exact fp32 dequantization, double accumulation)"
                      : "inc_cpu runs on the CPU only");
  });
}

const incq_plugin_api kApi = {
    sizeof(incq_plugin_api), INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR, "inc_cpu", "0.1.0",
    initialize, shutdown, probe,
};

}  // namespace
}  // namespace incq::inc_cpu

extern "C" INCQ_EXPORT const incq_plugin_api* incq_plugin_get_api(void) {
  return &incq::inc_cpu::kApi;
}
