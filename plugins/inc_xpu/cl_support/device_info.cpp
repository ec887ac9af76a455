#include "device_info.hpp"

namespace incq::cl_support {

std::string device_string(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetDeviceInfo(d, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string platform_string(cl_platform_id p, cl_platform_info what) {
  size_t n = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetPlatformInfo(p, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

cl_device_type device_type_of(cl_device_id d) {
  cl_device_type t = 0;
  clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, nullptr);
  return t;
}

cl_platform_id platform_of(cl_device_id d) {
  cl_platform_id p = nullptr;
  clGetDeviceInfo(d, CL_DEVICE_PLATFORM, sizeof p, &p, nullptr);
  return p;
}

std::string describe_device(cl_device_id d) {
  const cl_platform_id p = platform_of(d);
  return device_string(d, CL_DEVICE_NAME) + " (" + platform_string(p, CL_PLATFORM_NAME) + ", " +
         device_string(d, CL_DEVICE_VERSION) + ", driver " + device_string(d, CL_DRIVER_VERSION) + ")";
}

std::string device_fingerprint(cl_device_id d) {
  const cl_platform_id p = platform_of(d);
  return device_string(d, CL_DEVICE_NAME) + "|" + device_string(d, CL_DEVICE_VENDOR) + "|" +
         device_string(d, CL_DRIVER_VERSION) + "|" + device_string(d, CL_DEVICE_VERSION) + "|" +
         platform_string(p, CL_PLATFORM_NAME) + "|" + platform_string(p, CL_PLATFORM_VERSION);
}

}  // namespace incq::cl_support
