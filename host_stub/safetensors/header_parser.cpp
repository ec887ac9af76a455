#include "safetensors/header_parser.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/dtype.hpp"
#include "common/error.hpp"
#include "safetensors/checked_math.hpp"
#include "safetensors/strict_json.hpp"

namespace incq::host::st::detail {

namespace {

using nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";

// Throws with the "<path>: tensor '<name>': " prefix every per-tensor message carries.
[[noreturn]] void fail_tensor(const std::string& path, const std::string& name,
                              const std::string& what) {
  throw Error(fmt::format("{}: tensor '{}': {}", path, name, what));
}

// A JSON value as a non-negative integer, or nullopt when it is anything else (negative,
// fractional, a string ...). nlohmann stores every non-negative integer literal as number_unsigned.
std::optional<uint64_t> as_unsigned(const json& v) {
  if (!v.is_number_unsigned()) return std::nullopt;
  return v.get<uint64_t>();
}

std::vector<int64_t> parse_shape(const json& shape, const std::string& path,
                                 const std::string& name) {
  if (!shape.is_array())
    fail_tensor(path, name, fmt::format("shape is not an array (found {})", shape.type_name()));
  std::vector<int64_t> dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    const json& d = shape[i];
    const auto value = as_unsigned(d);
    if (d.is_number_integer() && !value)
      fail_tensor(path, name, fmt::format("shape[{}] is negative ({})", i, d.dump()));
    if (!value)
      fail_tensor(path, name, fmt::format("shape[{}] is not an integer ({})", i, d.dump()));
    if (*value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail_tensor(path, name, fmt::format("shape[{}] = {} is too large", i, *value));
    dims.push_back(static_cast<int64_t>(*value));
  }
  return dims;
}

std::pair<uint64_t, uint64_t> parse_offsets(const json& offsets, const std::string& path,
                                            const std::string& name) {
  std::optional<uint64_t> begin, end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = as_unsigned(offsets[0]);
    end = as_unsigned(offsets[1]);
  }
  if (!begin || !end)
    fail_tensor(path, name,
                fmt::format("data_offsets must be two non-negative integers [begin, end], got {}",
                            offsets.dump()));
  if (*begin > *end)
    fail_tensor(path, name, fmt::format("data_offsets [{}, {}] are not ascending", *begin, *end));
  return {*begin, *end};
}

HeaderEntry parse_entry(const std::string& name, const json& entry, uint64_t data_size,
                        const std::string& path) {
  if (!entry.is_object())
    fail_tensor(path, name, fmt::format("entry is not an object (found {})", entry.type_name()));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) fail_tensor(path, name, fmt::format("missing field '{}'", field));
  for (const auto& item : entry.items())
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets")
      fail_tensor(path, name, fmt::format("unknown field '{}'", item.key()));

  const json& dtype_json = entry["dtype"];
  if (!dtype_json.is_string())
    fail_tensor(path, name,
                fmt::format("dtype is not a string (found {})", dtype_json.type_name()));
  const auto& dtype_name = dtype_json.get_ref<const std::string&>();
  const auto dtype = dtype_from_safetensors_name(dtype_name);
  if (!dtype) fail_tensor(path, name, fmt::format("unknown dtype '{}'", dtype_name));

  HeaderEntry out{name, *dtype, parse_shape(entry["shape"], path, name), 0, 0};
  std::tie(out.begin, out.end) = parse_offsets(entry["data_offsets"], path, name);

  const std::optional<uint64_t> needed = byte_count(out.shape, dtype_size(*dtype));
  if (!needed)
    fail_tensor(path, name,
                fmt::format("shape [{}] x {} overflows a 64-bit byte count",
                            fmt::join(out.shape, ", "), dtype_name));
  if (out.end > data_size)
    fail_tensor(path, name,
                fmt::format("data_offsets [{}, {}] reach past the data section ({} bytes)",
                            out.begin, out.end, data_size));
  if (out.end - out.begin != *needed)
    fail_tensor(path, name,
                fmt::format("data_offsets [{}, {}] but shape [{}] x {} needs {} bytes", out.begin,
                            out.end, fmt::join(out.shape, ", "), dtype_name, *needed));
  return out;
}

std::map<std::string, std::string> parse_metadata(const json& metadata, const std::string& path) {
  if (!metadata.is_object())
    throw Error(fmt::format("{}: {} is not an object of strings (found {})", path, kMetadataKey,
                            metadata.type_name()));
  std::map<std::string, std::string> out;
  for (const auto& item : metadata.items()) {
    if (!item.value().is_string())
      throw Error(fmt::format("{}: {} key '{}' is not a string (found {})", path, kMetadataKey,
                              item.key(), item.value().type_name()));
    out.emplace(item.key(), item.value().get<std::string>());
  }
  return out;
}

// Entries sorted by offset: a non-empty tensor must start at or after the end of the previous
// non-empty one. Empty tensors own no bytes and may sit anywhere.
void check_no_overlap(const std::vector<HeaderEntry>& sorted, const std::string& path) {
  const HeaderEntry* previous = nullptr;
  for (const auto& e : sorted) {
    if (e.begin == e.end) continue;
    if (previous != nullptr && e.begin < previous->end)
      throw Error(fmt::format(
          "{}: tensors '{}' (data_offsets [{}, {}]) and '{}' (data_offsets [{}, {}]) overlap", path,
          previous->name, previous->begin, previous->end, e.name, e.begin, e.end));
    previous = &e;
  }
}

}  // namespace

uint64_t read_header_length(const uint8_t* file, uint64_t file_size, const std::string& path) {
  if (file_size < 8)
    throw Error(fmt::format("{}: file is {} bytes, too small for the 8-byte header length", path,
                            file_size));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];  // little-endian, whatever the host order
  if (n == 0) throw Error(fmt::format("{}: header length is 0", path));
  if (n > kMaxHeaderBytes)
    throw Error(fmt::format("{}: header length {} exceeds the bound of {} bytes", path, n,
                            kMaxHeaderBytes));
  if (n > file_size - 8)
    throw Error(fmt::format("{}: header length {} runs past the end of the file ({} bytes)", path,
                            n, file_size));
  return n;
}

Header parse_header(std::string_view json_text, uint64_t data_size, const std::string& path) {
  const json root = parse_strict_json(json_text, path + ": header");
  if (!root.is_object())
    throw Error(fmt::format("{}: header is not a JSON object (found {})", path, root.type_name()));

  Header header;
  for (const auto& item : root.items()) {
    if (item.key() == kMetadataKey)
      header.metadata = parse_metadata(item.value(), path);
    else
      header.entries.push_back(parse_entry(item.key(), item.value(), data_size, path));
  }
  std::sort(header.entries.begin(), header.entries.end(),
            [](const HeaderEntry& a, const HeaderEntry& b) {
              return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
            });
  check_no_overlap(header.entries, path);
  return header;
}

}  // namespace incq::host::st::detail
