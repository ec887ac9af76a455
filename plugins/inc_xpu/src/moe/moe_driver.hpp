// The MoE driver every inc_xpu MoE implementation shares: routing on the device (tokens grouped
// per expert into tiles, kernels_cl/moe_route.cl), then the scheme's two per-expert launches
// (gate+up with SiLU into h, down into per-pair outputs), then the weighted combine over the top-k
// slots. A scheme supplies only MoeExpertKernels; nothing here knows its weight format.
//
// Intermediate buffers are the queue's MoeScratch, bounded by kMoeChunkPairs routed pairs: reserve()
// at process time, and batches with more pairs run in chunks of whole tokens.
// Expert ids on the device are not trusted: the routing kernel skips an id outside [0, E) (that
// slot contributes nothing, no memory outside the expert stacks is read) and keeps a record of the
// first one until the host reads it. Reading it costs a device-to-host copy, which NVIDIA's driver
// serializes with the queue (measured: MoE decode 78 -> 107 us on the H100 with one per apply), so
// the host reads it (a) right after any apply the plugin waited for anyway (its own queue, or a
// staged output) and (b) on the host's queue, without blocking, every kMoeIdCheckInterval applies,
// reporting at the next apply. The error names the layer, the slot and the id.
#ifndef INCQ_INC_XPU_MOE_DRIVER_HPP
#define INCQ_INC_XPU_MOE_DRIVER_HPP

#include <cstdint>
#include <memory>
#include <string>

#include "device_buffer.hpp"
#include "launch.hpp"

namespace incq::inc_xpu {

// What the projection kernels read: pairs sorted by expert, tiles (expert, begin, rows) and their
// count, all on the device. Grid z of a projection launch is max_tiles; work-groups past
// *num_tiles leave at once.
struct MoeRouting {
  cl_mem sorted_pairs = nullptr;
  cl_mem tiles = nullptr;
  cl_mem num_tiles = nullptr;
  int32_t max_tiles = 0;
  int32_t rows_per_tile = 1;  // R of the projection kernels
  int32_t top_k = 0;
  int64_t pairs = 0;          // T * top_k
};

// Applies between two non-blocking id-record reads on the host's queue.
constexpr int kMoeIdCheckInterval = 64;

class MoeExpertKernels {
 public:
  virtual ~MoeExpertKernels() = default;
  // Rows per tile the projection kernels take for `pairs` routed pairs (their R: 1 or 8).
  virtual int32_t rows_per_tile(int64_t pairs) const = 0;
  // h[p, 0:I] = silu(gate_e(x[p / top_k])) * up_e(x[p / top_k]) in f32, for every routed pair p.
  virtual void enqueue_gate_up(const Session& s, const MoeRouting& r, cl_mem x, uint32_t x_off, cl_mem h) const = 0;
  // ypair[p, 0:H] = down_e(h[p]) in f32.
  virtual void enqueue_down(const Session& s, const MoeRouting& r, cl_mem h, cl_mem ypair) const = 0;
};

class MoeDriver {
 public:
  MoeDriver() = default;
  // Kernels from the program holding moe_route.cl (built for the layer's activation dtype).
  MoeDriver(cl_program program, int64_t num_experts, int64_t hidden, int64_t intermediate);
  ~MoeDriver();
  MoeDriver(MoeDriver&& o) noexcept;
  MoeDriver& operator=(MoeDriver&& o) noexcept;
  MoeDriver(const MoeDriver&) = delete;
  MoeDriver& operator=(const MoeDriver&) = delete;

  // Names the layer in errors ("layer 'x'").
  void set_name(std::string who) { who_ = std::move(who); }
  // Sizes the queue's scratch for this layer (process time). enqueue() does it on its first call
  // when a scheme has not (once, to the same bound).
  void reserve(const Session& s);

  // out[T, H] = sum_j w[t, j] * down_e(silu(gate_e(x_t)) * up_e(x_t)), e = ids[t, j]; every
  // argument a cl_mem in the session's context with element offsets. Callers hold the layer's
  // launch mutex. Throws the error of an earlier apply's out-of-range id first (see check_ids).
  void enqueue(const Session& s, const MoeExpertKernels& experts, int64_t T, int32_t top_k, cl_mem x,
               uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off, cl_mem out,
               uint32_t out_off);
  // Waits for a pending id-record read and throws INVALID_ARGUMENT if it holds an id outside [0, E)
  // (the record is then cleared on the device by the next routing: one error per bad record).
  void check_ids();
  // After the queue was waited for: reads the record now (blocking, tiny) and throws as check_ids.
  void check_ids_now(const Session& s);

 private:
  void enqueue_chunk(const Session& s, const MoeExpertKernels& experts, int64_t t0, int64_t T, int32_t top_k,
                     cl_mem x, uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off,
                     cl_mem out, uint32_t out_off);
  Kernel route_, combine_;
  int64_t E_ = 0, H_ = 0, I_ = 0;
  bool reserved_ = false;
  std::string who_ = "inc_xpu MoE layer";
  void enqueue_id_read(const Session& s, bool blocking);
  DeviceBuffer bad_;                     // [2] on the device: first bad pair + 1 (0: none), its id
  std::unique_ptr<int32_t[]> bad_host_;  // read-back target (stable address)
  cl_event bad_read_ = nullptr;
  bool reset_next_ = false;              // the next routing clears the record (it has been read)
  int applies_since_read_ = 0;
};

}  // namespace incq::inc_xpu

#endif
