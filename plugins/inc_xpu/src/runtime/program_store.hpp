// Builds OpenCL programs from the embedded kernels_cl/ sources once per (context, device, sources,
// options) and keeps their binaries on disk, keyed by device, driver and source hash, so later
// processes skip the compiler. A cache entry whose header, key or checksum does not match — or that
// the driver refuses — is rebuilt from source and rewritten, never trusted.
#ifndef INCQ_INC_XPU_PROGRAM_STORE_HPP
#define INCQ_INC_XPU_PROGRAM_STORE_HPP

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "session.hpp"

namespace incq::inc_xpu {

struct ProgramSpec {
  std::vector<std::string> files;  // kernels_cl/ file names, concatenated in this order
  std::string options;             // compiler options (-D...), part of the key
};

struct ProgramStoreStats {
  int built_from_source = 0;
  int loaded_from_disk = 0;
  int rejected_entries = 0;  // corrupt, mismatched or refused cache files that were rebuilt
  std::string last_rejection;
};

class ProgramStore {
 public:
  // cache_dir "" disables the disk cache; extra_options are appended to every build.
  ProgramStore(std::string cache_dir, std::string extra_options);
  ~ProgramStore();
  ProgramStore(const ProgramStore&) = delete;
  ProgramStore& operator=(const ProgramStore&) = delete;

  // The built program (owned by the store). Throws UNAVAILABLE with the build log on failure.
  cl_program get(const Session& session, const ProgramSpec& spec);

  ProgramStoreStats stats() const;
  // The cache file a spec maps to on `device` ("" without a disk cache): for tests and tools.
  std::string cache_path(cl_device_id device, const ProgramSpec& spec) const;

 private:
  std::string key_of(cl_device_id device, const ProgramSpec& spec, std::string* source) const;
  cl_program load_binary(const Session& s, const std::string& path, const std::string& key);
  void save_binary(cl_program program, cl_device_id device, const std::string& path, const std::string& key);

  std::string cache_dir_;
  std::string extra_options_;
  mutable std::mutex mutex_;
  std::map<std::tuple<cl_context, cl_device_id, std::string>, cl_program> programs_;
  // Builds that failed, with their message: a program is compiled at most once per process.
  std::map<std::tuple<cl_context, cl_device_id, std::string>, std::string> failures_;
  ProgramStoreStats stats_;
};

// FNV-1a 64: the cache key hash and the payload checksum (detects truncation and bit rot; the
// cache is not a security boundary — the driver still validates the binary it is given).
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = 1469598103934665603ull);

}  // namespace incq::inc_xpu

#endif
