// Setting kernel arguments and enqueueing a launch, with errors that name the kernel and layer.
#ifndef INCQ_INC_XPU_LAUNCH_HPP
#define INCQ_INC_XPU_LAUNCH_HPP

#include <array>
#include <cstdint>
#include <string>

#include "cl_error.hpp"
#include "session.hpp"

namespace incq::inc_xpu {

// A cl_kernel created from a program, released on destruction. cl_kernel argument state is not
// thread-safe: callers serialize set-args + enqueue (see KernelLaunch users' mutexes).
class Kernel {
 public:
  Kernel() = default;
  Kernel(cl_program program, const std::string& name);
  ~Kernel();
  Kernel(Kernel&& o) noexcept;
  Kernel& operator=(Kernel&& o) noexcept;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  cl_kernel get() const { return k_; }
  const std::string& name() const { return name_; }

 private:
  cl_kernel k_ = nullptr;
  std::string name_;
};

// Argument i by value (cl_mem, int32, uint32, float, ...). A local-memory argument uses LocalBytes.
struct LocalBytes {
  size_t bytes;
};

class ArgSetter {
 public:
  explicit ArgSetter(const Kernel& k) : k_(k) {}
  template <typename T>
  ArgSetter& operator()(const T& v) {
    cl_check(clSetKernelArg(k_.get(), index_, sizeof(T), &v),
             "inc_xpu: kernel " + k_.name() + " argument " + std::to_string(index_));
    ++index_;
    return *this;
  }
  ArgSetter& operator()(const LocalBytes& l) {
    cl_check(clSetKernelArg(k_.get(), index_, l.bytes, nullptr),
             "inc_xpu: kernel " + k_.name() + " local argument " + std::to_string(index_));
    ++index_;
    return *this;
  }

 private:
  const Kernel& k_;
  cl_uint index_ = 0;
};

// Enqueues k over global (rounded up to local) with local size; dims 1..3. event may be NULL.
void launch_kernel(const Session& s, const Kernel& k, cl_uint dims, std::array<size_t, 3> global,
             std::array<size_t, 3> local, cl_event* event = nullptr);

inline size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

}  // namespace incq::inc_xpu

#endif
