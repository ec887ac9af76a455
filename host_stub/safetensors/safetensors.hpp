// Reading and writing safetensors checkpoints: memory-mapped, validated before any tensor byte is
// touched, and able to hand the pages of a repacked tensor back to the kernel.
//
// File format (https://github.com/huggingface/safetensors, README "Format"): an 8-byte
// little-endian u64 N, then N bytes of UTF-8 JSON (possibly padded with spaces), then the data
// section. The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} with
// offsets relative to the start of the data section, plus an optional "__metadata__" string ->
// string map.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host::st {

// A tensor inside a mapped file. `data` stays valid while the file (or checkpoint) that owns it
// lives.
struct TensorView {
  std::string name;
  int32_t dtype = INCQ_DTYPE_INVALID;  // incq_dtype
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // first byte; may be unaligned, so callers memcpy
  uint64_t nbytes = 0;
  std::string file;  // path of the file it lives in, for messages

  // A CPU, contiguous row-major view (strides in elements). The pages are mapped read-only: a
  // plugin that writes through `data` gets SIGSEGV, as the ABI's BORROWED contract intends.
  // Throws incq::host::Error when the tensor has more than INCQ_MAX_DIMS dimensions.
  incq_tensor as_incq_tensor() const;
};

// One memory-mapped safetensors file (read-only, MAP_PRIVATE).
class SafetensorsFile {
 public:
  // Maps and validates the whole header. Throws incq::host::Error naming the path, the tensor and
  // the field at fault.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const TensorView* find(const std::string& name) const;               // nullptr if absent
  const std::vector<TensorView>& tensors() const { return tensors_; }  // by ascending data offset
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

  // Drops the resident pages that lie wholly inside the named tensor (madvise MADV_DONTNEED). The
  // host calls it once a plugin has repacked the tensor, so resident memory stays at the checkpoint
  // footprint. The pages are file-backed: reading the tensor again faults them back in.
  // Throws incq::host::Error for an unknown name.
  void release(const std::string& name);

 private:
  SafetensorsFile() = default;

  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// A model directory. Opened, in this order of preference, from:
//   model.safetensors.index.json ("weight_map": tensor name -> shard file name) and its shards,
//   model.safetensors,
//   every *.safetensors file in the directory.
class Checkpoint {
 public:
  static std::unique_ptr<Checkpoint> open(const std::string& dir);  // throws incq::host::Error

  const TensorView* find(const std::string& name) const;  // nullptr if absent
  std::vector<std::string> tensor_names() const;          // sorted
  void release(const std::string& name);                  // as SafetensorsFile::release
  const std::string& dir() const { return dir_; }

 private:
  Checkpoint() = default;
  void add_file(std::unique_ptr<SafetensorsFile> file);

  struct Location {
    SafetensorsFile* file;
    const TensorView* view;
  };
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Location> by_name_;
};

struct TensorToWrite {
  std::string name;
  int32_t dtype = INCQ_DTYPE_INVALID;  // incq_dtype
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // row-major, little-endian
};

// Writes one file: tensors in name order, laid out back to back, with the header padded with spaces
// so the data section starts 8-byte aligned. Checks bytes.size() == numel * dtype size and that
// names are unique. Writes to a temporary file first and renames it, so a failed write never leaves
// a half-written checkpoint under `path`. Throws incq::host::Error.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes a checkpoint into `dir` (created if missing): shards of at most max_shard_bytes of tensor
// data each (a larger tensor gets a shard to itself), named model-0000i-of-0000n.safetensors, plus
// model.safetensors.index.json; with a single shard, plain model.safetensors.
void write_checkpoint(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                      uint64_t max_shard_bytes);

}  // namespace incq::host::st
