#include "device_buffer.hpp"

namespace incq::inc_xpu {

DeviceBuffer::DeviceBuffer(const Session& s, size_t bytes, const std::string& what) : bytes_(bytes) {
  cl_int st = CL_SUCCESS;
  mem_ = clCreateBuffer(s.context(), CL_MEM_READ_WRITE, bytes > 0 ? bytes : 1, nullptr, &st);
  cl_check(st, "inc_xpu: allocating " + std::to_string(bytes) + " device bytes for " + what);
}

DeviceBuffer::DeviceBuffer(const Session& s, const void* data, size_t bytes, const std::string& what)
    : DeviceBuffer(s, bytes, what) {
  if (bytes > 0)
    cl_check(clEnqueueWriteBuffer(s.queue(), mem_, CL_TRUE, 0, bytes, data, 0, nullptr, nullptr),
             "inc_xpu: uploading " + what);
}

void DeviceBuffer::reset() {
  if (mem_ != nullptr) clReleaseMemObject(mem_);
  mem_ = nullptr;
  bytes_ = 0;
}

}  // namespace incq::inc_xpu
