#include "plugin_options.hpp"

#include <cstdlib>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {
namespace {

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') return std::string(x) + "/incq/inc_xpu";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return std::string(h) + "/.cache/incq/inc_xpu";
  return "";
}

}  // namespace

PluginOptions parse_plugin_options(const incq_kv* options, size_t num_options) {
  PluginOptions o;
  o.cache_dir = default_cache_dir();
  if (num_options > 0 && options == nullptr)
    fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: " + std::to_string(num_options) + " options announced but the array is NULL");
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = options[i].key != nullptr ? options[i].key : "<NULL>";
    const std::string value = options[i].value != nullptr ? options[i].value : "";
    if (key == "platform") {
      o.choice.platform = value;
    } else if (key == "device") {
      o.choice.device = value;
    } else if (key == "allow_cpu_devices") {
      if (value == "true" || value == "1") o.choice.allow_cpu_devices = true;
      else if (value == "false" || value == "0") o.choice.allow_cpu_devices = false;
      else fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: option allow_cpu_devices must be true or false, got '" + value + "'");
    } else if (key == "cache_dir") {
      o.cache_dir = value == "off" ? "" : value;
    } else if (key == "build_options") {
      o.build_options = value;
    } else {
      fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: unknown option '" + key +
                                          "' (known: platform, device, allow_cpu_devices, cache_dir, build_options)");
    }
  }
  return o;
}

}  // namespace incq::inc_xpu
