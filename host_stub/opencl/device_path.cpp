#include "opencl/device_path.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "device_select.hpp"
#include "opencl/device_tensor.hpp"

namespace incq::host::opencl {

DevicePath::DevicePath(int32_t device_type, const std::map<std::string, std::string>* inc_xpu_options) {
  wanted_ = device_type == INCQ_DEVICE_OPENCL;
  if (!wanted_) return;
  cl_support::DeviceChoice choice;
  if (inc_xpu_options != nullptr) {
    for (const auto& [k, v] : *inc_xpu_options) {
      if (k == "platform") choice.platform = v;
      if (k == "device") choice.device = v;
      if (k == "allow_cpu_devices") choice.allow_cpu_devices = !(v == "false" || v == "0");
    }
  }
  const cl_support::SelectedDevice sel = cl_support::select_device(choice);
  if (sel.device == nullptr) {
    reason_ = sel.reason;
    return;
  }
  cl_int st = CL_SUCCESS;
  context_ = clCreateContext(nullptr, 1, &sel.device, nullptr, nullptr, &st);
  if (st != CL_SUCCESS) {
    reason_ = "clCreateContext: " + cl_dynamic::status_name(st);
    context_ = nullptr;
    return;
  }
  queue_ = clCreateCommandQueue(context_, sel.device, 0, &st);
  if (st != CL_SUCCESS) {
    reason_ = "clCreateCommandQueue: " + cl_dynamic::status_name(st);
    queue_ = nullptr;
    return;
  }
  description_ = sel.description;
}

DevicePath::~DevicePath() {
  if (queue_ != nullptr) clReleaseCommandQueue(queue_);
  if (context_ != nullptr) clReleaseContext(context_);
}

incq_device DevicePath::attach(incq_device d) const {
  if (on_device(d)) {
    d.native_context = context_;
    d.native_queue = queue_;
  }
  return d;
}

incq_device DevicePath::cpu_device() {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_CPU;
  return d;
}

namespace {

std::vector<int64_t> shape_of(const incq_tensor& t) { return std::vector<int64_t>(t.shape, t.shape + t.ndim); }

const void* host_data(const incq_tensor& t) { return static_cast<const uint8_t*>(t.data) + t.byte_offset; }

}  // namespace

void DevicePath::apply_linear(const incq_device& device, const incq_tensor& x, incq_tensor& y,
                              const LinearCall& call) const {
  if (!on_device(device)) {
    call(x, y);
    return;
  }
  DeviceTensor dx(context_, queue_, x.dtype, shape_of(x), host_data(x));
  DeviceTensor dy(context_, queue_, y.dtype, shape_of(y), nullptr);
  call(dx.view(), dy.view());
  dy.read(static_cast<uint8_t*>(y.data) + y.byte_offset);  // in-order queue: after the plugin's work
}

void DevicePath::apply_moe(const incq_device& device, const incq_tensor& hidden, const incq_tensor& ids,
                           const incq_tensor& weights, incq_tensor& out, const MoeCall& call) const {
  if (!on_device(device)) {
    call(hidden, ids, weights, out);
    return;
  }
  DeviceTensor dx(context_, queue_, hidden.dtype, shape_of(hidden), host_data(hidden));
  DeviceTensor di(context_, queue_, ids.dtype, shape_of(ids), host_data(ids));
  DeviceTensor dw(context_, queue_, weights.dtype, shape_of(weights), host_data(weights));
  DeviceTensor dy(context_, queue_, out.dtype, shape_of(out), nullptr);
  call(dx.view(), di.view(), dw.view(), dy.view());
  dy.read(static_cast<uint8_t*>(out.data) + out.byte_offset);
}

}  // namespace incq::host::opencl
