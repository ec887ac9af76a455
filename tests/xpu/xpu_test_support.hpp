// What the inc_xpu tests share: the inc_xpu plugin loaded through the host (program binaries
// cached under the build tree), the host's OpenCL device path, and running one ABI layer case
// through an implementation with device tensors.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/loaded_layer.hpp"
#include "core/plugin_loader.hpp"
#include "support/int_layer_case.hpp"
#include "opencl/device_path.hpp"

namespace incq::xpu_test {

// One per test binary: plugins inc_xpu and inc_cpu from the build tree, inc_xpu's programs cached
// in INCQ_XPU_TEST_CACHE_DIR, and the host's context/queue on the same device.
struct XpuWorld {
  host::PluginSet plugins;
  std::unique_ptr<host::opencl::DevicePath> ocl;
  std::string availability;  // inc_xpu's probe detail
  bool usable = false;
  const host::Implementation* impl(const std::string& name) const;
  incq_device device() const;  // OpenCL, with the host's context and queue
};
XpuWorld& world();

// Runs c through `impl_name` (device tensors for x and y, or the MoE routing too) and returns ""
// when the output meets the implementation's declared tolerance, else the violation.
std::string run_case(const abi_test::LayerCase& c, const std::string& impl_name,
                     const host::OptionMap& layer_options = {});

std::string plugin_path(const std::string& name);  // build tree's libincq_<name>.so

// Runs a command line, returns its exit status and combined output.
int run_command(const std::string& cmd, std::string& output);

}  // namespace incq::xpu_test
