// The machine's streaming read bandwidth, measured in-process with the same thread count as the
// layers under test: every thread sums its slice of one large buffer (>= 1 GiB and >= 4 x LLC, so it
// streams from memory), with the widest loads the CPU has (AVX-512, else AVX2, else SSE2). With
// AVX-512 there are three readers (one stream; four streams per thread; software prefetch): the
// machine's bandwidth is the best of them, so a kernel is never judged against a weak reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"

namespace incq::bench {

class ReadBandwidth {
 public:
  explicit ReadBandwidth(uint64_t bytes);
  ~ReadBandwidth();
  ReadBandwidth(const ReadBandwidth&) = delete;
  ReadBandwidth& operator=(const ReadBandwidth&) = delete;

  // One full pass over the buffer on `pool` with readers()[reader]; returns GB/s (1e9 bytes/s).
  double pass(host::ThreadPool& pool, size_t reader);
  uint64_t bytes() const { return bytes_; }
  static std::vector<std::string> readers();

 private:
  uint64_t bytes_;
  uint8_t* data_ = nullptr;
};

}  // namespace incq::bench
