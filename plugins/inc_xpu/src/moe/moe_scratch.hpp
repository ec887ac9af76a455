// The MoE driver's intermediate device buffers (sorted pairs, tiles, h = silu(gate)*up, per-pair
// outputs), shared by every MoE layer of one in-order queue and bounded: a layer reserves room for
// at most kMoeChunkPairs routed (token, slot) pairs at its sizes when it is processed, and apply
// walks larger batches in chunks of that many pairs. Nothing grows with the batch inside apply.
#ifndef INCQ_INC_XPU_MOE_SCRATCH_HPP
#define INCQ_INC_XPU_MOE_SCRATCH_HPP

#include <cstdint>
#include <mutex>

#include "device_buffer.hpp"

namespace incq::inc_xpu {

// Routed pairs per chunk: 4096 pairs = 512 tokens at top-8. Scratch = pairs * (I + H) * 4 bytes
// + small routing arrays (e.g. 57 MB for H = 2048, I = 1408), once per queue.
constexpr int64_t kMoeChunkPairs = 4096;

class MoeScratch {
 public:
  // Grows (only ever) to hold `pairs` pairs of a layer with `intermediate`/`hidden` sizes and up
  // to `max_tiles` tiles.
  void reserve(const Session& s, int64_t pairs, int64_t intermediate, int64_t hidden, int64_t max_tiles);
  // Held across a layer's whole launch sequence (routing .. combine): layers of one queue share
  // the buffers, so their sequences must not interleave.
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  cl_mem sorted() const { return sorted_.get(); }
  cl_mem tiles() const { return tiles_.get(); }
  cl_mem num_tiles() const { return num_tiles_.get(); }
  cl_mem h() const { return h_.get(); }
  cl_mem ypair() const { return ypair_.get(); }

 private:
  std::mutex mutex_;
  DeviceBuffer sorted_, tiles_, num_tiles_, h_, ypair_;
};

}  // namespace incq::inc_xpu

#endif
