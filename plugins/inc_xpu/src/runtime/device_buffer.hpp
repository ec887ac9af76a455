// RAII over cl_mem and small helpers to move bytes to and from a device.
#ifndef INCQ_INC_XPU_DEVICE_BUFFER_HPP
#define INCQ_INC_XPU_DEVICE_BUFFER_HPP

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "cl_error.hpp"
#include "session.hpp"

namespace incq::inc_xpu {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // An uninitialised buffer of `bytes` (at least 1: OpenCL refuses size 0).
  DeviceBuffer(const Session& s, size_t bytes, const std::string& what);
  // A buffer holding `bytes` copied from host memory (blocking write on the session's queue).
  DeviceBuffer(const Session& s, const void* data, size_t bytes, const std::string& what);
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : mem_(std::exchange(o.mem_, nullptr)), bytes_(o.bytes_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      mem_ = std::exchange(o.mem_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  cl_mem get() const { return mem_; }
  size_t bytes() const { return bytes_; }
  void reset();

 private:
  cl_mem mem_ = nullptr;
  size_t bytes_ = 0;
};

template <typename T>
DeviceBuffer upload(const Session& s, const std::vector<T>& v, const std::string& what) {
  return DeviceBuffer(s, v.data(), v.size() * sizeof(T), what);
}

}  // namespace incq::inc_xpu

#endif
