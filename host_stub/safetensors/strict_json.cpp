#include "safetensors/strict_json.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"

namespace incq::host::st::detail {

namespace {

// A safetensors header is root -> entry -> shape array; an index.json is root -> weight_map. Deeper
// input is malformed anyway; the bound keeps hostile nesting cheap to reject.
constexpr int kMaxDepth = 8;

// The keys seen so far in one open object, and the key of the value being parsed in it.
struct OpenObject {
  std::set<std::string> keys;
  std::string current_key;
};

std::string describe_duplicate(const std::vector<OpenObject>& open, const std::string& key) {
  if (open.size() == 1) return fmt::format("duplicate key '{}' at the top level", key);
  return fmt::format("duplicate key '{}' inside '{}'", key, open[open.size() - 2].current_key);
}

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& what) {
  using nlohmann::json;
  std::vector<OpenObject> open;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    if (depth > kMaxDepth)
      throw Error(fmt::format("{}: JSON nests deeper than {} levels", what, kMaxDepth));
    switch (event) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open.back().keys.insert(key).second)
          throw Error(fmt::format("{}: {}", what, describe_duplicate(open, key)));
        open.back().current_key = key;
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", what, e.what()));
  }
}

}  // namespace incq::host::st::detail
