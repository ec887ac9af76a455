// The host's OpenCL device path for `incq verify` / `incq demo --device opencl|xpu`:
//  - one context + in-order queue on the device chosen by the same keys inc_xpu takes
//    (plugin_options.inc_xpu: platform, device, allow_cpu_devices), handed to plugins through
//    incq_device.native_context / native_queue, so layer weights and the host's tensors share it;
//  - apply through device tensors: x, the MoE routing (topk_ids, topk_weights) and y live in
//    cl_mem buffers the host allocates; only y comes back for the comparison;
//  - selection with a visible CPU fallback: a layer no OpenCL implementation can serve runs on the
//    CPU (host memory) and says so, with the reason.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cl_dynamic.hpp"
#include "incq/plugin_api.h"

namespace incq::host::opencl {

class DevicePath {
 public:
  // Inert (everything on the CPU path) unless device_type is OpenCL. inc_xpu_options are the
  // host's plugin_options for inc_xpu (may be NULL). When OpenCL is requested but unusable,
  // reason() says why and layers are created without a host context.
  DevicePath(int32_t device_type, const std::map<std::string, std::string>* inc_xpu_options);
  ~DevicePath();
  DevicePath(const DevicePath&) = delete;
  DevicePath& operator=(const DevicePath&) = delete;

  bool wanted() const { return wanted_; }
  bool ready() const { return queue_ != nullptr; }
  const std::string& reason() const { return reason_; }
  const std::string& description() const { return description_; }

  // d with the host's context and queue attached (unchanged for CPU devices or when not ready).
  incq_device attach(incq_device d) const;
  // The CPU device a fallback layer runs on.
  static incq_device cpu_device();

  // apply through device tensors when `device` is OpenCL and the path is ready; else directly on
  // the host tensors. x/y (and ids/weights) are host tensors; y receives the result either way.
  using LinearCall = std::function<void(const incq_tensor& x, incq_tensor& y)>;
  using MoeCall = std::function<void(const incq_tensor& hidden, const incq_tensor& ids, const incq_tensor& weights,
                                     incq_tensor& out)>;
  void apply_linear(const incq_device& device, const incq_tensor& x, incq_tensor& y, const LinearCall& call) const;
  void apply_moe(const incq_device& device, const incq_tensor& hidden, const incq_tensor& ids,
                 const incq_tensor& weights, incq_tensor& out, const MoeCall& call) const;

 private:
  bool on_device(const incq_device& d) const { return ready() && d.type == INCQ_DEVICE_OPENCL; }
  bool wanted_ = false;
  std::string reason_;
  std::string description_;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
};

}  // namespace incq::host::opencl
