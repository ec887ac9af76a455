#include "int_fast/scratch_arena.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <new>

namespace incq::inc_cpu::int_fast {
namespace {

struct Arena {
  std::mutex m;
  std::condition_variable cv;
  void* buf[kScratchSlots] = {};
  bool busy[kScratchSlots] = {};
  int leased = 0;
  size_t size = 0;
};

Arena& arena() {
  static Arena a;
  return a;
}

}  // namespace

void reserve_scratch(size_t bytes) {
  Arena& a = arena();
  bytes = (bytes + 63) / 64 * 64;
  std::unique_lock<std::mutex> lock(a.m);
  if (bytes <= a.size) return;
  a.cv.wait(lock, [&] { return a.leased == 0; });
  if (bytes <= a.size) return;
  for (int i = 0; i < kScratchSlots; ++i) {
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    std::free(a.buf[i]);
    a.buf[i] = p;
  }
  a.size = bytes;
}

ScratchLease::ScratchLease() {
  Arena& a = arena();
  std::unique_lock<std::mutex> lock(a.m);
  a.cv.wait(lock, [&] { return a.leased < kScratchSlots; });
  slot_ = 0;
  while (a.busy[slot_]) ++slot_;
  a.busy[slot_] = true;
  ++a.leased;
  data_ = a.buf[slot_];
  size_ = a.size;
}

ScratchLease::~ScratchLease() {
  Arena& a = arena();
  {
    std::lock_guard<std::mutex> lock(a.m);
    a.busy[slot_] = false;
    --a.leased;
  }
  a.cv.notify_all();
}

}  // namespace incq::inc_cpu::int_fast
