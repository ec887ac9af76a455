#include "splitk_scratch.hpp"

namespace incq::inc_xpu {

void SplitKScratch::reserve(const Session& s, size_t partial_bytes, size_t counters) {
  std::lock_guard<std::mutex> g(mutex_);
  if (partial_bytes > partials_.bytes()) partials_ = DeviceBuffer(s, partial_bytes, "split-K partial sums");
  if (counters * sizeof(cl_uint) > counters_.bytes()) {
    DeviceBuffer c(s, counters * sizeof(cl_uint), "split-K tile counters");
    const cl_uint zero = 0;
    // The queue is in order: pending launches that use the old counters finish first; the old
    // buffer lives until they have.
    cl_check(clEnqueueFillBuffer(s.queue(), c.get(), &zero, sizeof zero, 0, c.bytes(), 0, nullptr, nullptr),
             "inc_xpu: zeroing split-K tile counters");
    cl_check(clFinish(s.queue()), "inc_xpu: zeroing split-K tile counters (clFinish)");
    counters_ = std::move(c);
  }
}

}  // namespace incq::inc_xpu
