#include "launch.hpp"

#include <utility>

namespace incq::inc_xpu {

Kernel::Kernel(cl_program program, const std::string& name) : name_(name) {
  cl_int st = CL_SUCCESS;
  k_ = clCreateKernel(program, name.c_str(), &st);
  cl_check(st, "inc_xpu: clCreateKernel(" + name + ")");
}

Kernel::~Kernel() {
  if (k_ != nullptr) clReleaseKernel(k_);
}

Kernel::Kernel(Kernel&& o) noexcept : k_(std::exchange(o.k_, nullptr)), name_(std::move(o.name_)) {}

Kernel& Kernel::operator=(Kernel&& o) noexcept {
  if (this != &o) {
    if (k_ != nullptr) clReleaseKernel(k_);
    k_ = std::exchange(o.k_, nullptr);
    name_ = std::move(o.name_);
  }
  return *this;
}

void launch_kernel(const Session& s, const Kernel& k, cl_uint dims, std::array<size_t, 3> global,
             std::array<size_t, 3> local, cl_event* event) {
  for (cl_uint d = 0; d < dims; ++d) global[d] = round_up(global[d] == 0 ? 1 : global[d], local[d]);
  cl_check(clEnqueueNDRangeKernel(s.queue(), k.get(), dims, nullptr, global.data(), local.data(), 0, nullptr, event),
           "inc_xpu: launching " + k.name());
}

}  // namespace incq::inc_xpu
