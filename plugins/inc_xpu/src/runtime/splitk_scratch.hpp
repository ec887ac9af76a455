// Scratch of the split-K kernels (kernels_cl/int_wo_gemv_Rx128_splitk.cl): f32 partial sums and one
// arrival counter per output tile, shared by every layer of one in-order queue (launches on it never
// overlap, and each launch leaves its counters at 0). Sized at process time by each layer that can
// use it (reserve), never inside apply, so the per-layer cost is one grow at load.
#ifndef INCQ_INC_XPU_SPLITK_SCRATCH_HPP
#define INCQ_INC_XPU_SPLITK_SCRATCH_HPP

#include <cstddef>
#include <mutex>

#include "device_buffer.hpp"

namespace incq::inc_xpu {

class SplitKScratch {
 public:
  // Grows to at least `partial_bytes` of partials and `counters` zeroed counters (blocking).
  void reserve(const Session& s, size_t partial_bytes, size_t counters);
  // Held from setting the kernel's arguments to its enqueue, so a concurrent reserve cannot free
  // the buffers in between (OpenCL keeps a released buffer alive until enqueued work is done).
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  cl_mem partials() const { return partials_.get(); }
  cl_mem counters() const { return counters_.get(); }
  size_t partial_bytes() const { return partials_.bytes(); }
  size_t counter_count() const { return counters_.bytes() / sizeof(cl_uint); }

 private:
  std::mutex mutex_;
  DeviceBuffer partials_, counters_;
};

}  // namespace incq::inc_xpu

#endif
