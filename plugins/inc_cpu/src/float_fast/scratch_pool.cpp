#include "scratch_pool.hpp"

#include <string>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

ScratchPool& ScratchPool::instance() {
  static ScratchPool pool;
  return pool;
}

void ScratchPool::reserve(size_t bytes) {
  bytes = scratch_bytes(bytes);
  std::unique_lock<std::mutex> lock(mu_);
  for (Slot& s : slots_) {
    cv_.wait(lock, [&] { return !s.busy; });
    if (s.size >= bytes) continue;
    // 64-byte alignment: over-allocate and align inside take_bytes.
    s.data.reset(new uint8_t[bytes + 64]);
    s.size = bytes;
  }
}

int ScratchPool::acquire_slot(size_t bytes) {
  std::unique_lock<std::mutex> lock(mu_);
  if (slots_[0].size < bytes) {
    fail(INCQ_ERR_INTERNAL, "fast float scratch: " + std::to_string(bytes) + " bytes asked, " +
                                std::to_string(slots_[0].size) + " reserved at process time");
  }
  int found = -1;
  cv_.wait(lock, [&] {
    for (int i = 0; i < kSlots; ++i)
      if (!slots_[i].busy && slots_[i].size >= bytes) return (found = i) >= 0;
    return false;
  });
  slots_[found].busy = true;
  return found;
}

void ScratchPool::release(int slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    slots_[slot].busy = false;
  }
  cv_.notify_all();
}

void* ScratchPool::Lease::take_bytes(size_t bytes) {
  Slot& s = pool_->slots_[slot_];
  const size_t need = scratch_bytes(bytes);
  if (used_ + need > s.size) {
    fail(INCQ_ERR_INTERNAL, "fast float scratch: slot of " + std::to_string(s.size) + " bytes overrun");
  }
  uint8_t* base = s.data.get();
  base += (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;
  void* p = base + used_;
  used_ += need;
  return p;
}

}  // namespace incq::inc_cpu
