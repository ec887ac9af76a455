#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "safetensors/header_parser.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host::st {

namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor on every path out of open(); the mapping outlives it, so none is kept open
// (a sharded checkpoint would otherwise hold one descriptor per shard for its whole life).
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

incq_tensor TensorView::as_incq_tensor() const {
  if (shape.size() > INCQ_MAX_DIMS)
    throw Error(fmt::format("{}: tensor '{}': {} dimensions, but incq_tensor holds at most {}",
                            file, name, shape.size(), INCQ_MAX_DIMS));
  incq_tensor t{};
  t.struct_size = sizeof(incq_tensor);
  t.data = const_cast<uint8_t*>(data);  // the ABI's data is non-const; the mapping is read-only
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;  // cannot overflow: numel * dtype size was checked to fit in 64 bits
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = stride;
    stride *= shape[i];
  }
  t.byte_offset = 0;
  t.device_type = INCQ_DEVICE_CPU;
  t.device_index = 0;
  return t;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, errno_text()));
  FdCloser closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(fmt::format("{}: cannot stat: {}", path, errno_text()));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: not a regular file", path));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  // Checked before mapping: mmap of an empty file fails with a less helpful message.
  if (file_size < 8)
    throw Error(fmt::format("{}: file is {} bytes, too small for the 8-byte header length", path,
                            file_size));

  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) throw Error(fmt::format("{}: cannot mmap: {}", path, errno_text()));
  file->map_ = map;  // from here the destructor unmaps, whatever validation throws
  file->map_size_ = file_size;

  const auto* bytes = static_cast<const uint8_t*>(map);
  const uint64_t header_len = detail::read_header_length(bytes, file_size, path);
  const uint8_t* data_section = bytes + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;
  detail::Header header = detail::parse_header(
      std::string_view(reinterpret_cast<const char*>(bytes + 8), header_len), data_size, path);

  file->metadata_ = std::move(header.metadata);
  file->tensors_.reserve(header.entries.size());
  for (auto& e : header.entries) {
    file->index_.emplace(e.name, file->tensors_.size());
    file->tensors_.push_back(TensorView{std::move(e.name), e.dtype, std::move(e.shape),
                                        data_section + e.begin, e.end - e.begin, path});
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::release(const std::string& name) {
  const TensorView* t = find(name);
  if (t == nullptr) throw Error(fmt::format("{}: release: no tensor '{}'", path_, name));
  // Only pages wholly inside the tensor: a page shared with a neighbour may still be in use.
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t->data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + t->nbytes) / page * page;
  if (first >= last) return;
  if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0)
    throw Error(
        fmt::format("{}: release of tensor '{}': madvise failed: {}", path_, name, errno_text()));
}

}  // namespace incq::host::st
