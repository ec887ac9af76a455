// Choosing one OpenCL device from the options the plugin (and the host, for its own context) is
// given, with the exact reason when none qualifies.
#ifndef INCQ_CL_DEVICE_SELECT_HPP
#define INCQ_CL_DEVICE_SELECT_HPP

#include <string>

#include "cl_dynamic.hpp"

namespace incq::cl_support {

struct DeviceChoice {
  std::string platform;        // "" any; else a platform index or a case-insensitive name substring
  std::string device;          // "" first; else an index into the candidates or a name substring
  bool allow_cpu_devices = true;  // CPU OpenCL devices (PoCL) are candidates after GPUs/accelerators
};

struct SelectedDevice {
  cl_device_id device = nullptr;  // nullptr: none; `reason` says why
  std::string reason;
  std::string description;
};

// Candidates are ordered GPUs and accelerators first, then CPU devices, in platform order.
// Reasons distinguish: no ICD loader, no ICD (loader found no vendor), no platform (or none
// matching), no device of the requested type, no device matching the option.
SelectedDevice select_device(const DeviceChoice& choice);

}  // namespace incq::cl_support

#endif
