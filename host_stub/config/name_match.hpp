// How config entries name layers. Layer names are dotted module paths
// ("model.layers.0.self_attn.k_proj"); entries match whole dotted components, never a part of one,
// so "proj" never matches "k_proj".
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace incq::host {

// True when `key` uses regex syntax. The set follows vLLM's AutoRound loader: '.' is not in it,
// because plain dotted layer names are the common case.
bool has_regex_chars(const std::string& key);

// name == key, or name ends with "." + key ("lm_head" names "model.lm_head").
bool is_dotted_suffix(const std::string& key, const std::string& name);

// name == prefix, or name starts with prefix + "." (block "model.layers" holds
// "model.layers.0.mlp.up_proj"; "model.layers.1" does not hold "model.layers.10.mlp.up_proj").
bool has_dotted_prefix(const std::string& prefix, const std::string& name);

// `part` occurs in `name` as whole dotted components ("mlp.gate" is in "model.layers.0.mlp.gate",
// not in "model.layers.0.mlp.gate_proj").
bool contains_dotted(const std::string& part, const std::string& name);

// The last dotted component: "model.lm_head" -> "lm_head".
std::string last_component(const std::string& name);

// A list entry that is either a plain dotted name (matched by contains_dotted) or, when it has
// regex characters, a regex matched unanchored (std::regex_search).
class NamePattern {
 public:
  // Throws std::regex_error for an invalid regex; callers turn it into an Error naming the key.
  explicit NamePattern(std::string text);
  bool matches(const std::string& name) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::optional<std::regex> regex_;
};

// The first pattern that matches `name`, or nullptr.
const NamePattern* first_match(const std::vector<NamePattern>& patterns, const std::string& name);

}  // namespace incq::host
