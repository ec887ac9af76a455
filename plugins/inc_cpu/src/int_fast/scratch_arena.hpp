// Per-call scratch for apply without heap allocation: a process-wide set of buffers, grown at
// process time (reserve) to the largest need of any prepared layer, leased by apply calls. More
// concurrent apply calls than buffers wait for one to come back (a lease is held for one call).
#ifndef INCQ_INC_CPU_INT_FAST_SCRATCH_ARENA_HPP
#define INCQ_INC_CPU_INT_FAST_SCRATCH_ARENA_HPP

#include <cstddef>

namespace incq::inc_cpu::int_fast {

constexpr int kScratchSlots = 4;

// Grows every buffer to at least `bytes` (64-byte aligned). Process time only; waits until no
// lease is out while it grows.
void reserve_scratch(size_t bytes);

class ScratchLease {
 public:
  ScratchLease();  // blocks until a buffer is free
  ~ScratchLease();
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  int slot_;
  void* data_;
  size_t size_;
};

}  // namespace incq::inc_cpu::int_fast

#endif
