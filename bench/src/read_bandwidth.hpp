// The machine's streaming read bandwidth, measured in-process with the same thread count as the
// layers under test: every thread sums its slice of one large buffer (>= 1 GiB and >= 4 x LLC, so it
// streams from memory), with the widest loads the CPU has (AVX-512, else AVX2, else SSE2).
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.hpp"

namespace incq::bench {

class ReadBandwidth {
 public:
  explicit ReadBandwidth(uint64_t bytes);
  ~ReadBandwidth();
  ReadBandwidth(const ReadBandwidth&) = delete;
  ReadBandwidth& operator=(const ReadBandwidth&) = delete;

  // One full pass over the buffer on `pool`; returns GB/s (1e9 bytes per second).
  double pass(host::ThreadPool& pool);
  uint64_t bytes() const { return bytes_; }
  const char* isa() const;

 private:
  uint64_t bytes_;
  uint8_t* data_ = nullptr;
};

}  // namespace incq::bench
