#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/dtype.hpp"
#include "common/error.hpp"
#include "safetensors/checked_math.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host::st {

namespace fs = std::filesystem;

namespace {

using Sorted = std::vector<const TensorToWrite*>;

void check_tensor(const TensorToWrite& t, const std::string& where) {
  if (t.name.empty() || t.name == "__metadata__")
    throw Error(fmt::format("{}: '{}' cannot be a tensor name", where, t.name));
  const size_t element = dtype_size(t.dtype);
  if (element == 0)
    throw Error(fmt::format("{}: tensor '{}': invalid dtype {}", where, t.name, t.dtype));
  for (size_t i = 0; i < t.shape.size(); ++i)
    if (t.shape[i] < 0)
      throw Error(
          fmt::format("{}: tensor '{}': shape[{}] is negative ({})", where, t.name, i, t.shape[i]));
  const std::optional<uint64_t> needed = detail::byte_count(t.shape, element);
  if (!needed || *needed != t.bytes.size())
    throw Error(fmt::format("{}: tensor '{}': {} bytes given but shape [{}] x {} needs {}", where,
                            t.name, t.bytes.size(), fmt::join(t.shape, ", "), dtype_name(t.dtype),
                            needed ? std::to_string(*needed) : std::string("more than 2^64")));
}

// Every tensor checked, names unique, in name order.
Sorted checked_and_sorted(const std::vector<TensorToWrite>& tensors, const std::string& where) {
  Sorted sorted;
  for (const auto& t : tensors) {
    check_tensor(t, where);
    sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->name == sorted[i - 1]->name)
      throw Error(fmt::format("{}: tensor '{}' given twice", where, sorted[i]->name));
  return sorted;
}

// Writes `chunks` to `path` through a temporary file renamed into place on success.
void write_atomically(const std::string& path,
                      const std::vector<std::pair<const void*, size_t>>& chunks) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw Error(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
  int write_errno = 0;  // the first failure's errno; 0 while all is well
  for (const auto& [ptr, size] : chunks)
    if (write_errno == 0 && size != 0 && std::fwrite(ptr, 1, size, f) != size) write_errno = errno;
  if (std::fclose(f) != 0 && write_errno == 0) write_errno = errno;
  if (write_errno != 0) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("{}: write failed: {}", tmp, std::strerror(write_errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(tmp.c_str());
    throw Error(
        fmt::format("{}: cannot rename {} into place: {}", path, tmp, std::strerror(rename_errno)));
  }
}

void write_file(const std::string& path, const Sorted& tensors,
                const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const TensorToWrite* t : tensors) {
    const uint64_t end = offset + t->bytes.size();
    header[t->name] = {{"dtype", dtype_to_safetensors_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text = header.dump();
  // Spaces after the JSON (allowed by the format) so the data section starts 8-byte aligned in the
  // file, hence in a page-aligned mapping of it.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));

  std::vector<std::pair<const void*, size_t>> chunks{{length, sizeof length},
                                                     {text.data(), text.size()}};
  for (const TensorToWrite* t : tensors) chunks.emplace_back(t->bytes.data(), t->bytes.size());
  write_atomically(path, chunks);
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file(path, checked_and_sorted(tensors, path), metadata);
}

void write_checkpoint(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                      uint64_t max_shard_bytes) {
  if (max_shard_bytes == 0) throw Error(fmt::format("{}: max_shard_bytes must be positive", dir));
  const Sorted sorted = checked_and_sorted(tensors, dir);

  // Greedy, in name order: a tensor goes into the current shard unless it would overflow it.
  std::vector<Sorted> shards;
  uint64_t shard_bytes = 0;
  for (const TensorToWrite* t : sorted) {
    if (shards.empty() || (shard_bytes != 0 && shard_bytes + t->bytes.size() > max_shard_bytes)) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(t);
    shard_bytes += t->bytes.size();
  }
  if (shards.empty()) shards.emplace_back();  // an empty checkpoint is still one (empty) file

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create directory: {}", dir, ec.message()));
  const fs::path root(dir);
  const fs::path index_path = root / "model.safetensors.index.json";

  if (shards.size() == 1) {
    write_file((root / "model.safetensors").string(), shards[0], {});
    // A stale index would take precedence over model.safetensors when the directory is opened.
    fs::remove(index_path, ec);
    if (ec)
      throw Error(
          fmt::format("{}: cannot remove stale index: {}", index_path.string(), ec.message()));
    return;
  }

  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    // The Hugging Face naming, 1-based with five digits.
    const std::string name =
        fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_file((root / name).string(), shards[i], {});
    for (const TensorToWrite* t : shards[i]) {
      weight_map[t->name] = name;
      total += t->bytes.size();
    }
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const std::string text = index.dump(2) + "\n";
  write_atomically(index_path.string(), {{text.data(), text.size()}});
}

}  // namespace incq::host::st
