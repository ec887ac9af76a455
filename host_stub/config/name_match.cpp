#include "config/name_match.hpp"

namespace incq::host {

bool has_regex_chars(const std::string& key) {
  return key.find_first_of("*+?^$()[]{}|\\") != std::string::npos;
}

bool is_dotted_suffix(const std::string& key, const std::string& name) {
  if (key.empty() || key.size() > name.size()) return false;
  if (name.compare(name.size() - key.size(), key.size(), key) != 0) return false;
  return key.size() == name.size() || name[name.size() - key.size() - 1] == '.';
}

bool has_dotted_prefix(const std::string& prefix, const std::string& name) {
  if (prefix.empty() || prefix.size() > name.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  return prefix.size() == name.size() || name[prefix.size()] == '.';
}

bool contains_dotted(const std::string& part, const std::string& name) {
  if (part.empty()) return false;
  for (size_t at = name.find(part); at != std::string::npos; at = name.find(part, at + 1)) {
    const size_t end = at + part.size();
    const bool starts_component = at == 0 || name[at - 1] == '.';
    const bool ends_component = end == name.size() || name[end] == '.';
    if (starts_component && ends_component) return true;
  }
  return false;
}

std::string last_component(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

NamePattern::NamePattern(std::string text) : text_(std::move(text)) {
  if (has_regex_chars(text_)) regex_.emplace(text_, std::regex::ECMAScript);
}

bool NamePattern::matches(const std::string& name) const {
  return regex_ ? std::regex_search(name, *regex_) : contains_dotted(text_, name);
}

const NamePattern* first_match(const std::vector<NamePattern>& patterns, const std::string& name) {
  for (const auto& p : patterns)
    if (p.matches(name)) return &p;
  return nullptr;
}

}  // namespace incq::host
