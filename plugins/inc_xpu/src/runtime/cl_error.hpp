// Turning OpenCL status codes into the plugin's StatusError, with what was being done.
#ifndef INCQ_INC_XPU_CL_ERROR_HPP
#define INCQ_INC_XPU_CL_ERROR_HPP

#include <string>

#include "cl_dynamic.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {

// Out-of-memory codes map to INCQ_ERR_OUT_OF_MEMORY, everything else to INCQ_ERR_UNAVAILABLE
// (a device or driver failure, not a bug in the caller's request).
inline void cl_check(cl_int status, const std::string& what) {
  if (status == CL_SUCCESS) return;
  const bool oom = status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_HOST_MEMORY ||
                   status == CL_OUT_OF_RESOURCES;
  fail(oom ? INCQ_ERR_OUT_OF_MEMORY : INCQ_ERR_UNAVAILABLE, what + ": " + cl_dynamic::status_name(status));
}

}  // namespace incq::inc_xpu

#endif
