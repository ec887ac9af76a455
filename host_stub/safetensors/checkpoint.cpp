#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "safetensors/header_parser.hpp"
#include "safetensors/safetensors.hpp"
#include "safetensors/strict_json.hpp"

namespace incq::host::st {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string read_small_file(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) throw Error(fmt::format("{}: cannot read: {}", p.string(), ec.message()));
  if (size > detail::kMaxHeaderBytes)
    throw Error(fmt::format("{}: {} bytes, above the bound of {} bytes", p.string(), size,
                            detail::kMaxHeaderBytes));
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw Error(fmt::format("{}: cannot read", p.string()));
  return text.str();
}

// A shard named by the index must be a file of this directory, not a path that leaves it.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// The index's weight_map as tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  const std::string where = index_path.string();
  const nlohmann::json root = detail::parse_strict_json(read_small_file(index_path), where);
  if (!root.is_object()) throw Error(fmt::format("{}: not a JSON object", where));
  const auto it = root.find("weight_map");
  if (it == root.end()) throw Error(fmt::format("{}: missing field 'weight_map'", where));
  if (!it->is_object())
    throw Error(fmt::format("{}: weight_map is not an object (found {})", where, it->type_name()));
  std::map<std::string, std::string> weight_map;
  for (const auto& item : it->items()) {
    if (!item.value().is_string() || !is_plain_file_name(item.value().get<std::string>()))
      throw Error(fmt::format("{}: weight_map['{}'] must be a shard file name, got {}", where,
                              item.key(), item.value().dump()));
    weight_map.emplace(item.key(), item.value().get<std::string>());
  }
  return weight_map;
}

}  // namespace

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& t : file->tensors()) {
    const auto [it, inserted] = by_name_.emplace(t.name, Location{file.get(), &t});
    if (!inserted)
      throw Error(fmt::format("{}: tensor '{}' is in both {} and {}", dir_, t.name,
                              it->second.file->path(), file->path()));
  }
  files_.push_back(std::move(file));
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: not a directory", dir));
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = dir;
  const fs::path root(dir);

  if (is_file(root / kIndexFile)) {
    const fs::path index_path = root / kIndexFile;
    const auto weight_map = read_weight_map(index_path);
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : weight_map) {
      if (!is_file(root / shard))
        throw Error(fmt::format("{}: weight_map['{}'] names shard '{}', which does not exist",
                                index_path.string(), tensor, shard));
      shards.insert(shard);
    }
    for (const auto& shard : shards) ckpt->add_file(SafetensorsFile::open((root / shard).string()));
    for (const auto& [tensor, shard] : weight_map) {
      const auto it = ckpt->by_name_.find(tensor);
      if (it == ckpt->by_name_.end() || fs::path(it->second.file->path()).filename() != shard)
        throw Error(fmt::format("{}: weight_map['{}'] names shard '{}', which has no such tensor",
                                index_path.string(), tensor, shard));
    }
  } else if (is_file(root / kSingleFile)) {
    ckpt->add_file(SafetensorsFile::open((root / kSingleFile).string()));
  } else {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(root, ec))
      if (entry.path().extension() == ".safetensors" && is_file(entry.path()))
        found.push_back(entry.path().string());
    if (ec) throw Error(fmt::format("{}: cannot list: {}", dir, ec.message()));
    if (found.empty())
      throw Error(fmt::format("{}: no {}, {} or *.safetensors file", dir, kIndexFile, kSingleFile));
    std::sort(found.begin(), found.end());  // directory order is arbitrary; messages should not be
    for (const auto& path : found) ckpt->add_file(SafetensorsFile::open(path));
  }
  return ckpt;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.view;
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(by_name_.size());
  for (const auto& entry : by_name_) names.push_back(entry.first);
  return names;
}

void Checkpoint::release(const std::string& name) {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) throw Error(fmt::format("{}: release: no tensor '{}'", dir_, name));
  it->second.file->release(name);
}

}  // namespace incq::host::st
