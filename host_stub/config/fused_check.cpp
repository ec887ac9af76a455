// Fused modules (qkv_proj, gate_up_proj, a MoE's experts) run as one kernel over one set of
// packed weights, so all of their parts must resolve to one scheme.
#include <map>
#include <utility>

#include <fmt/format.h>

#include "common/error.hpp"
#include "config/quant_config.hpp"

namespace incq::host {
namespace {

struct FusedGroup {
  std::string name;                 // e.g. "model.layers.0.self_attn.qkv_proj"
  std::vector<std::string> layers;  // full names of the parts
  std::vector<std::string> labels;  // the parts as printed: "q_proj", "experts.3.down_proj"
};

std::vector<std::string> split_dots(const std::string& name) {
  std::vector<std::string> out(1);
  for (char c : name) {
    if (c == '.') out.emplace_back();
    else out.back() += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) out += (i > begin ? "." : "") + parts[i];
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The fused module `name` belongs to, as {fused name, label}, or {"", ""}.
std::pair<std::string, std::string> fused_home(const std::string& name) {
  const auto parts = split_dots(name);
  // "<prefix>.experts.<e>.<proj...>": every projection of every expert of one MoE.
  for (size_t i = 0; i + 2 < parts.size(); ++i)
    if (parts[i] == "experts" && all_digits(parts[i + 1]))
      return {join(parts, 0, i + 1), join(parts, i, parts.size())};
  if (parts.size() < 2) return {"", ""};
  const std::string& leaf = parts.back();
  const std::string parent = join(parts, 0, parts.size() - 1);
  if (leaf == "q_proj" || leaf == "k_proj" || leaf == "v_proj") return {parent + ".qkv_proj", leaf};
  if (leaf == "gate_proj" || leaf == "up_proj") return {parent + ".gate_up_proj", leaf};
  return {"", ""};
}

std::string list_labels(const std::vector<std::string>& labels) {
  constexpr size_t kShown = 4;
  std::string out;
  for (size_t i = 0; i < labels.size() && i < kShown; ++i) out += (i ? ", " : "") + labels[i];
  if (labels.size() > kShown) out += fmt::format(" and {} more", labels.size() - kShown);
  return out;
}

}  // namespace

void QuantConfig::check_fused(const std::vector<std::string>& layer_names) const {
  std::vector<FusedGroup> groups;
  std::map<std::string, size_t> index;
  for (const auto& name : layer_names) {
    auto [fused, label] = fused_home(name);
    if (fused.empty()) continue;
    auto [it, added] = index.emplace(fused, groups.size());
    if (added) groups.push_back({fused, {}, {}});
    groups[it->second].layers.push_back(name);
    groups[it->second].labels.push_back(label);
  }

  for (const auto& g : groups) {
    // Parts bucketed by scheme, in order of first appearance.
    std::vector<std::pair<LayerScheme, std::vector<std::string>>> buckets;
    for (size_t i = 0; i < g.layers.size(); ++i) {
      LayerScheme s = resolve(g.layers[i]);
      auto b = buckets.begin();
      while (b != buckets.end() && !(b->first == s)) ++b;
      if (b == buckets.end()) buckets.push_back({std::move(s), {g.labels[i]}});
      else b->second.push_back(g.labels[i]);
    }
    if (buckets.size() < 2) continue;
    std::string msg = fmt::format("{}: fused module '{}' needs one scheme for all its parts: ",
                                  source(), g.name);
    for (size_t i = 0; i < buckets.size(); ++i) {
      const auto& [scheme, labels] = buckets[i];
      msg += fmt::format("{}{} {} {} [{}]", i ? "; " : "", list_labels(labels),
                         labels.size() == 1 ? "is" : "are", scheme.describe(), scheme.rule);
    }
    throw Error(msg);
  }
}

}  // namespace incq::host
