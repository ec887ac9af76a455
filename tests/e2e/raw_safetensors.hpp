// A safetensors file as plain bytes, read and written by this test code alone (not by the host's
// reader under test), so tests can see what a checkpoint really holds and damage it on purpose.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace incq::e2e {

struct RawSafetensors {
  nlohmann::ordered_json header;  // tensor name -> {dtype, shape, data_offsets}, plus __metadata__
  std::vector<uint8_t> data;      // the data section; offsets in the header are relative to it

  static RawSafetensors read(const std::string& path);
  // Writes the header (space-padded to 8 bytes, as the format allows) and the data section.
  void write(const std::string& path) const;

  // The bytes of one tensor, for reading or patching in place.
  uint8_t* bytes_of(const std::string& name);
  size_t size_of(const std::string& name) const;

  // Drops a tensor from the header (its bytes stay behind as an unused hole, which is legal).
  void remove(const std::string& name);
  // Points a tensor at new bytes appended to the data section (adds it when absent).
  void replace(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
               const std::vector<uint8_t>& bytes);
};

// The one model.safetensors file a small synthesized checkpoint has.
std::string single_shard(const std::string& checkpoint_dir);

// Little-endian fp16 helpers for patching scales.
uint16_t read_u16(const uint8_t* p);
void write_u16(uint8_t* p, uint16_t v);

}  // namespace incq::e2e
