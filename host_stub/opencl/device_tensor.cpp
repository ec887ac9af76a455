#include "opencl/device_tensor.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host::opencl {

DeviceTensor::DeviceTensor(cl_context context, cl_command_queue queue, int32_t dtype,
                           const std::vector<int64_t>& shape, const void* init)
    : queue_(queue) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  bytes_ = static_cast<size_t>(n) * incq::dtype_size(dtype);
  cl_int st = CL_SUCCESS;
  mem_ = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes_ > 0 ? bytes_ : 1, nullptr, &st);
  if (st != CL_SUCCESS)
    throw Error(fmt::format("host OpenCL: allocating {} device bytes: {}", bytes_, cl_dynamic::status_name(st)));
  if (init != nullptr && bytes_ > 0) {
    st = clEnqueueWriteBuffer(queue, mem_, CL_TRUE, 0, bytes_, init, 0, nullptr, nullptr);
    if (st != CL_SUCCESS) throw Error(fmt::format("host OpenCL: upload: {}", cl_dynamic::status_name(st)));
  }
  view_.struct_size = sizeof view_;
  view_.data = mem_;
  view_.dtype = dtype;
  view_.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = view_.ndim - 1; i >= 0; --i) {
    view_.shape[i] = shape[static_cast<size_t>(i)];
    view_.strides[i] = stride;
    stride *= view_.shape[i];
  }
  view_.byte_offset = 0;
  view_.device_type = INCQ_DEVICE_OPENCL;
  view_.device_index = 0;
}

DeviceTensor::~DeviceTensor() {
  if (mem_ != nullptr) clReleaseMemObject(mem_);
}

void DeviceTensor::read(void* dst) const {
  if (bytes_ == 0) return;
  const cl_int st = clEnqueueReadBuffer(queue_, mem_, CL_TRUE, 0, bytes_, dst, 0, nullptr, nullptr);
  if (st != CL_SUCCESS) throw Error(fmt::format("host OpenCL: reading an output back: {}", cl_dynamic::status_name(st)));
}

}  // namespace incq::host::opencl
