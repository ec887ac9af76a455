// A host-owned device buffer viewed as an incq_tensor (device_type OPENCL, data = cl_mem).
#pragma once

#include <cstdint>
#include <vector>

#include "cl_dynamic.hpp"
#include "incq/plugin_api.h"

namespace incq::host::opencl {

class DeviceTensor {
 public:
  // A [shape] tensor of dtype in `context`; when init is given, its bytes are uploaded on `queue`.
  DeviceTensor(cl_context context, cl_command_queue queue, int32_t dtype, const std::vector<int64_t>& shape,
               const void* init);
  ~DeviceTensor();
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  incq_tensor& view() { return view_; }
  // Blocking read of the whole tensor into dst (bytes() bytes) on the queue.
  void read(void* dst) const;
  size_t bytes() const { return bytes_; }

 private:
  cl_command_queue queue_;
  cl_mem mem_ = nullptr;
  size_t bytes_ = 0;
  incq_tensor view_{};
};

}  // namespace incq::host::opencl
