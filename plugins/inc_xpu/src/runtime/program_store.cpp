#include "program_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cl_error.hpp"
#include "device_info.hpp"
#include "kernel_sources.hpp"

namespace incq::inc_xpu {
namespace {

constexpr char kMagic[8] = {'I', 'N', 'C', 'Q', 'C', 'L', 'B', '1'};

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void make_dirs(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    ::mkdir(cur.c_str(), 0755);
  }
}

std::string build_log(cl_program p, cl_device_id d) {
  size_t n = 0;
  clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
  std::string log(n, '\0');
  if (n > 0) clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t size, uint64_t seed) {
  uint64_t h = seed;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

ProgramStore::ProgramStore(std::string cache_dir, std::string extra_options)
    : cache_dir_(std::move(cache_dir)), extra_options_(std::move(extra_options)) {}

ProgramStore::~ProgramStore() {
  for (auto& [k, p] : programs_) clReleaseProgram(p);
}

std::string ProgramStore::key_of(cl_device_id device, const ProgramSpec& spec, std::string* source) const {
  std::string text;
  for (const auto& f : spec.files) text += "// ---- " + f + "\n" + kernel_source(f) + "\n";
  if (source != nullptr) *source = text;
  const std::string options = spec.options + " " + extra_options_;
  return cl_support::device_fingerprint(device) + "|options=" + options + "|source=" + hex64(fnv1a64(text.data(), text.size()));
}

std::string ProgramStore::cache_path(cl_device_id device, const ProgramSpec& spec) const {
  if (cache_dir_.empty()) return "";
  const std::string key = key_of(device, spec, nullptr);
  return cache_dir_ + "/" + hex64(fnv1a64(key.data(), key.size())) + ".clbin";
}

cl_program ProgramStore::load_binary(const Session& s, const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;  // not cached yet: not a rejection
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto reject = [&](const std::string& why) -> cl_program {
    ++stats_.rejected_entries;
    stats_.last_rejection = path + ": " + why;
    return nullptr;
  };
  // Layout: magic[8] | key_len u64 | key | payload_len u64 | payload_fnv u64 | payload
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (data.size() - pos < n) return false;
    std::memcpy(dst, data.data() + pos, n);
    pos += n;
    return true;
  };
  char magic[8];
  uint64_t key_len = 0, payload_len = 0, payload_fnv = 0;
  if (!take(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return reject("bad magic");
  if (!take(&key_len, 8) || key_len != key.size() || data.size() - pos < key_len) return reject("key length differs");
  if (data.compare(pos, key_len, key) != 0) return reject("key differs (device, driver or source changed)");
  pos += key_len;
  if (!take(&payload_len, 8) || !take(&payload_fnv, 8) || data.size() - pos != payload_len) return reject("truncated");
  if (fnv1a64(data.data() + pos, payload_len) != payload_fnv) return reject("checksum mismatch");
  const unsigned char* bin = reinterpret_cast<const unsigned char*>(data.data() + pos);
  const size_t len = payload_len;
  cl_int bin_status = CL_SUCCESS, st = CL_SUCCESS;
  cl_device_id dev = s.device();
  cl_program p = clCreateProgramWithBinary(s.context(), 1, &dev, &len, &bin, &bin_status, &st);
  if (st != CL_SUCCESS || bin_status != CL_SUCCESS) {
    if (p != nullptr) clReleaseProgram(p);
    return reject("driver refused the binary: " + cl_dynamic::status_name(st != CL_SUCCESS ? st : bin_status));
  }
  if (clBuildProgram(p, 1, &dev, nullptr, nullptr, nullptr) != CL_SUCCESS) {
    clReleaseProgram(p);
    return reject("driver could not build the binary");
  }
  ++stats_.loaded_from_disk;
  return p;
}

void ProgramStore::save_binary(cl_program program, cl_device_id device, const std::string& path, const std::string& key) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS || size == 0) return;
  (void)device;
  std::vector<unsigned char> bin(size);
  unsigned char* ptr = bin.data();
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) != CL_SUCCESS) return;
  make_dirs(cache_dir_);
  // Write to a private temporary file, then rename: readers never see a half-written entry.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;  // an unwritable cache only costs compile time
    const uint64_t key_len = key.size(), payload_len = size, fnv = fnv1a64(bin.data(), size);
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&key_len), 8);
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
    out.write(reinterpret_cast<const char*>(&payload_len), 8);
    out.write(reinterpret_cast<const char*>(&fnv), 8);
    out.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(size));
    if (!out) {
      std::remove(tmp.c_str());
      return;
    }
  }
  std::rename(tmp.c_str(), path.c_str());
}

cl_program ProgramStore::get(const Session& s, const ProgramSpec& spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string source;
  const std::string key = key_of(s.device(), spec, &source);
  const auto map_key = std::make_tuple(s.context(), s.device(), key);
  if (auto it = programs_.find(map_key); it != programs_.end()) return it->second;
  if (auto it = failures_.find(map_key); it != failures_.end()) fail(INCQ_ERR_UNAVAILABLE, it->second);

  const std::string path = cache_dir_.empty() ? "" : cache_dir_ + "/" + hex64(fnv1a64(key.data(), key.size())) + ".clbin";
  cl_program p = path.empty() ? nullptr : load_binary(s, path, key);
  if (p == nullptr) {
    const char* text = source.c_str();
    const size_t len = source.size();
    cl_int st = CL_SUCCESS;
    p = clCreateProgramWithSource(s.context(), 1, &text, &len, &st);
    cl_check(st, "inc_xpu: clCreateProgramWithSource");
    const std::string options = "-cl-std=CL1.2 " + spec.options + " " + extra_options_;
    cl_device_id dev = s.device();
    st = clBuildProgram(p, 1, &dev, options.c_str(), nullptr, nullptr);
    if (st != CL_SUCCESS) {
      const std::string log = build_log(p, dev);
      clReleaseProgram(p);
      std::string files;
      for (const auto& f : spec.files) files += (files.empty() ? "" : "+") + f;
      const std::string msg = "kernel build failed for " + files + " on " + cl_support::describe_device(dev) + ": " +
                              cl_dynamic::status_name(st) + "; options '" + options + "'; build log:\n" + log;
      failures_.emplace(map_key, msg);
      fail(INCQ_ERR_UNAVAILABLE, msg);
    }
    ++stats_.built_from_source;
    if (!path.empty()) save_binary(p, dev, path, key);
  }
  programs_.emplace(map_key, p);
  return p;
}

ProgramStoreStats ProgramStore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace incq::inc_xpu
