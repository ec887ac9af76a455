// Per-call scratch for the fast apply paths without heap allocation in apply: a plugin-wide pool of
// a few slots, grown at process time (reserve) to the largest need of any processed layer, and
// leased by apply (acquire). Slots make concurrent apply calls safe (each call works in its own
// slot); a call that finds every slot leased waits for one, so memory stays bounded at
// kSlots x the largest layer need (each need is itself capped by chunking rows/tokens).
#ifndef INCQ_INC_CPU_FLOAT_FAST_SCRATCH_POOL_HPP
#define INCQ_INC_CPU_FLOAT_FAST_SCRATCH_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace incq::inc_cpu {

class ScratchPool {
 public:
  static constexpr int kSlots = 4;
  static ScratchPool& instance();

  // Process time: every slot holds at least `bytes` afterwards (waits for leased slots to return).
  void reserve(size_t bytes);

  class Lease {
   public:
    Lease(ScratchPool& pool, int slot) : pool_(&pool), slot_(slot) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_->release(slot_); }
    // Carves `count` Ts (64-byte aligned) off the slot; throws INTERNAL past its end.
    template <typename T>
    T* take(size_t count) {
      return static_cast<T*>(take_bytes(count * sizeof(T)));
    }

   private:
    void* take_bytes(size_t bytes);
    ScratchPool* pool_;
    int slot_;
    size_t used_ = 0;
  };

  // Apply time: the index of a free slot of at least `bytes`, leased until a Lease built on it is
  // destroyed (INTERNAL error if no slot was reserved that big). Usage:
  //   ScratchPool::Lease lease(pool, pool.acquire_slot(bytes));
  int acquire_slot(size_t bytes);

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
    bool busy = false;
  };
  void release(int slot);
  friend class Lease;

  std::mutex mu_;
  std::condition_variable cv_;
  Slot slots_[kSlots];
};

// Bytes a scratch request rounds to (alignment padding of one take()).
constexpr size_t scratch_bytes(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace incq::inc_cpu

#endif
