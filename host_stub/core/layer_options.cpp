#include "core/layer_options.hpp"

#include <fmt/format.h>

#include <regex>

#include "common/error.hpp"

namespace incq::host {

OptionMap options_for_layer(const std::vector<LayerOptionRule>& rules, const std::string& layer_name) {
  OptionMap out;
  for (const auto& r : rules) {
    if (out.count(r.key)) continue;
    if (r.pattern.empty() || std::regex_search(layer_name, std::regex(r.pattern))) out[r.key] = r.value;
  }
  return out;
}

LayerOptionRule parse_layer_option(const std::string& text, const std::string& source) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("{}: '{}' is not KEY=VALUE", source, text));
  return {"", text.substr(0, eq), text.substr(eq + 1), source};
}

}  // namespace incq::host
