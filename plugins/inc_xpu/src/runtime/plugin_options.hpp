// inc_xpu's plugin-level options (host config `plugin_options: {"inc_xpu": {...}}`):
//   platform           index or name substring (default: any)
//   device             index among the candidates or name substring (default: the first; GPUs
//                      and accelerators come before CPU devices)
//   allow_cpu_devices  true|false (default true: PoCL serves CI; false keeps inc_xpu off CPUs)
//   cache_dir          where compiled program binaries are kept (default
//                      $XDG_CACHE_HOME/incq/inc_xpu or ~/.cache/incq/inc_xpu; "off" disables)
//   build_options      extra OpenCL compiler options appended to every program build
#ifndef INCQ_INC_XPU_PLUGIN_OPTIONS_HPP
#define INCQ_INC_XPU_PLUGIN_OPTIONS_HPP

#include <string>

#include "device_select.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_xpu {

struct PluginOptions {
  cl_support::DeviceChoice choice;
  std::string cache_dir;  // resolved; "" = no disk cache
  std::string build_options;
};

// Throws StatusError(INVALID_ARGUMENT) naming an unknown key or a bad value.
PluginOptions parse_plugin_options(const incq_kv* options, size_t num_options);

}  // namespace incq::inc_xpu

#endif
