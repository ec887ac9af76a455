// Validation of one safetensors file's framing and JSON header. Pure functions over bytes already
// in memory, so each rule can be checked without a file system; SafetensorsFile maps the file and
// calls them before it touches a single tensor byte.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace incq::host::st::detail {

// Above this a header is treated as hostile rather than parsed (the reference implementation uses a
// bound of the same order, 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// Reads the little-endian u64 header length and checks it against the file: not 0, within the
// bound, not past the end. Returns it. `path` is only used in messages.
uint64_t read_header_length(const uint8_t* file, uint64_t file_size, const std::string& path);

struct HeaderEntry {
  std::string name;
  int32_t dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // data_offsets, relative to the data section; begin <= end <= data section size
  uint64_t end;
};

struct Header {
  std::vector<HeaderEntry> entries;  // sorted by (begin, end)
  std::map<std::string, std::string> metadata;
};

// Parses and validates the JSON header against a data section of `data_size` bytes: field names and
// types, dtype names, shapes, offsets in range and matching shape x dtype size, no two tensors
// sharing bytes (gaps between tensors are allowed). Throws incq::host::Error.
Header parse_header(std::string_view json_text, uint64_t data_size, const std::string& path);

}  // namespace incq::host::st::detail
