// Overflow-checked u64 arithmetic: the header is untrusted, so every size computed from it is
// checked before it is compared with the file or used to form a pointer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace incq::host::st::detail {

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Bytes of a tensor of non-negative `shape` with `element_size`-byte elements; nullopt when that
// does not fit in 64 bits. A zero dimension makes it 0 whatever the others are.
inline std::optional<uint64_t> byte_count(const std::vector<int64_t>& shape,
                                          uint64_t element_size) {
  for (int64_t d : shape)
    if (d == 0) return 0;
  std::optional<uint64_t> n = element_size;
  for (int64_t d : shape)
    if (n) n = checked_mul(*n, static_cast<uint64_t>(d));
  return n;
}

}  // namespace incq::host::st::detail
