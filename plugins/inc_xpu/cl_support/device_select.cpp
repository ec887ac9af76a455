#include "device_select.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "device_info.hpp"

namespace incq::cl_support {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string icd_hint() {
  const char* vendors = std::getenv("OCL_ICD_VENDORS");
  return vendors != nullptr ? std::string(" (OCL_ICD_VENDORS=") + vendors + ")" : " (looked in /etc/OpenCL/vendors)";
}

}  // namespace

SelectedDevice select_device(const DeviceChoice& choice) {
  SelectedDevice out;
  if (const std::string& e = cl_dynamic::loader_error(); !e.empty()) {
    out.reason = e;
    return out;
  }
  cl_uint np = 0;
  const cl_int st = clGetPlatformIDs(0, nullptr, &np);
  if (st == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */) {
    out.reason = "no OpenCL ICD: the ICD loader found no vendor driver" + icd_hint();
    return out;
  }
  if (st != CL_SUCCESS || np == 0) {
    out.reason = "no OpenCL platform: clGetPlatformIDs returned " + cl_dynamic::status_name(st) + " with " +
                 std::to_string(np) + " platforms" + icd_hint();
    return out;
  }
  std::vector<cl_platform_id> platforms(np);
  clGetPlatformIDs(np, platforms.data(), nullptr);

  std::vector<std::string> platform_names;
  std::vector<cl_platform_id> chosen_platforms;
  for (cl_uint i = 0; i < np; ++i) {
    const std::string name = platform_string(platforms[i], CL_PLATFORM_NAME);
    platform_names.push_back(std::to_string(i) + ": " + name);
    const bool match = choice.platform.empty() ||
                       (is_index(choice.platform) ? std::stoul(choice.platform) == i
                                                  : lower(name).find(lower(choice.platform)) != std::string::npos);
    if (match) chosen_platforms.push_back(platforms[i]);
  }
  if (chosen_platforms.empty()) {
    out.reason = "no OpenCL platform matches platform='" + choice.platform + "' (found " + join(platform_names) + ")";
    return out;
  }

  std::vector<cl_device_id> accel, cpus;
  std::vector<std::string> skipped_cpus;
  for (cl_platform_id p : chosen_platforms) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS || nd == 0) continue;
    std::vector<cl_device_id> devs(nd);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, devs.data(), nullptr);
    for (cl_device_id d : devs) {
      if (device_type_of(d) & CL_DEVICE_TYPE_CPU) {
        if (choice.allow_cpu_devices) cpus.push_back(d);
        else skipped_cpus.push_back(device_string(d, CL_DEVICE_NAME));
      } else {
        accel.push_back(d);
      }
    }
  }
  std::vector<cl_device_id> candidates = accel;
  candidates.insert(candidates.end(), cpus.begin(), cpus.end());
  if (candidates.empty()) {
    out.reason = skipped_cpus.empty()
                     ? "no OpenCL device on platform(s) " + join(platform_names)
                     : "no OpenCL device of the requested type: only CPU devices (" + join(skipped_cpus) +
                           ") and allow_cpu_devices=false";
    return out;
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < candidates.size(); ++i)
    names.push_back(std::to_string(i) + ": " + device_string(candidates[i], CL_DEVICE_NAME));
  if (choice.device.empty()) {
    out.device = candidates.front();
  } else if (is_index(choice.device)) {
    const unsigned long i = std::stoul(choice.device);
    if (i < candidates.size()) out.device = candidates[i];
  } else {
    for (cl_device_id d : candidates)
      if (lower(device_string(d, CL_DEVICE_NAME)).find(lower(choice.device)) != std::string::npos) {
        out.device = d;
        break;
      }
  }
  if (out.device == nullptr) {
    out.reason = "no OpenCL device matches device='" + choice.device + "' (candidates " + join(names) + ")";
    return out;
  }
  out.description = describe_device(out.device);
  return out;
}

}  // namespace incq::cl_support
