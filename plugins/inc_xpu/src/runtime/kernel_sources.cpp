#include "kernel_sources.hpp"

#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {

std::string kernel_source(const std::string& file) {
  for (const auto& s : kernel_sources())
    if (file == s.file) return s.text;
  fail(INCQ_ERR_INTERNAL, "inc_xpu: kernel source '" + file + "' was not embedded at build time");
}

}  // namespace incq::inc_xpu
