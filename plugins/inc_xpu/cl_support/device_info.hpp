// Small typed readers over clGetDeviceInfo / clGetPlatformInfo.
#ifndef INCQ_INC_XPU_DEVICE_INFO_HPP
#define INCQ_INC_XPU_DEVICE_INFO_HPP

#include <string>
#include <vector>

#include "cl_dynamic.hpp"

namespace incq::cl_support {

std::string device_string(cl_device_id d, cl_device_info what);
std::string platform_string(cl_platform_id p, cl_platform_info what);
cl_device_type device_type_of(cl_device_id d);
cl_platform_id platform_of(cl_device_id d);
// "NVIDIA H100 80GB HBM3 (NVIDIA CUDA, OpenCL 3.0 CUDA, driver 580.159.04)"
std::string describe_device(cl_device_id d);
// What identifies a compiled program's target: device, vendor, driver, device and platform versions.
std::string device_fingerprint(cl_device_id d);

}  // namespace incq::cl_support

#endif
