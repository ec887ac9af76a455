// The OpenCL C sources of kernels_cl/, embedded at build time (cmake/embed_kernels.cmake).
#ifndef INCQ_INC_XPU_KERNEL_SOURCES_HPP
#define INCQ_INC_XPU_KERNEL_SOURCES_HPP

#include <string>
#include <vector>

namespace incq::inc_xpu {

struct KernelSource {
  const char* file;  // "int_wo_gemm.cl"
  const char* text;
};

const std::vector<KernelSource>& kernel_sources();

// The text of one file; throws StatusError(INTERNAL) naming it when it was not embedded.
std::string kernel_source(const std::string& file);

}  // namespace incq::inc_xpu

#endif
