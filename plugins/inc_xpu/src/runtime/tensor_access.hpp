// An apply argument as the kernels see it: a cl_mem plus an element offset. Device tensors
// (device_type OPENCL, data = cl_mem in the layer's context) are used in place; CPU tensors are
// staged through a temporary device buffer (inputs uploaded now, outputs read back by finish()),
// so a host without an OpenCL path still gets correct results — at the cost of the copies.
#ifndef INCQ_INC_XPU_TENSOR_ACCESS_HPP
#define INCQ_INC_XPU_TENSOR_ACCESS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_xpu {

class TensorAccess {
 public:
  // Checks t against dtype and shape (row-major contiguous) and names `what` in every error.
  TensorAccess(const Session& s, const incq_tensor* t, int32_t dtype, const std::vector<int64_t>& shape,
               bool is_output, const std::string& what);
  cl_mem mem() const { return mem_; }
  // The first element's offset in elements of the tensor's dtype (kernels index from it).
  uint32_t offset() const { return offset_; }
  bool staged() const { return staged_.get() != nullptr; }
  // For a staged output: blocking read into the caller's host memory. No-op otherwise.
  void finish(const Session& s);

 private:
  const incq_tensor* t_;
  cl_mem mem_ = nullptr;
  uint32_t offset_ = 0;
  size_t bytes_ = 0;
  bool is_output_;
  DeviceBuffer staged_;
};

}  // namespace incq::inc_xpu

#endif
