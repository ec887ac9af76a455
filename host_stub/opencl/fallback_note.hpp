// Why a layer asked for on an OpenCL device runs on the CPU instead: the reasons of the OpenCL
// implementations that declined it, for `incq inspect` / `incq verify` to print.
#pragma once

#include <string>

#include "core/selection.hpp"

namespace incq::host::opencl {

inline std::string fallback_note(const Selection& failed_on_opencl) {
  std::string why;
  for (const auto& c : failed_on_opencl.candidates)
    if (c.impl != nullptr && c.impl->desc != nullptr && (c.impl->desc->device_mask & INCQ_BIT(INCQ_DEVICE_OPENCL)))
      why += (why.empty() ? "" : "; ") + c.impl->name + ": " + c.reason;
  if (why.empty()) why = "no OpenCL implementation of this scheme is registered";
  return "fallback to cpu with host staging (" + why + ")";
}

}  // namespace incq::host::opencl
