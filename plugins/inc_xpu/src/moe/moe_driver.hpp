// The MoE driver every inc_xpu MoE implementation shares: routing on the device (tokens grouped
// per expert into tiles, kernels_cl/moe_route.cl), then the scheme's two per-expert launches
// (gate+up with SiLU into h, down into per-pair outputs), then the weighted combine over the top-k
// slots. A scheme supplies only MoeExpertKernels; nothing here knows its weight format.
#ifndef INCQ_INC_XPU_MOE_DRIVER_HPP
#define INCQ_INC_XPU_MOE_DRIVER_HPP

#include <cstdint>
#include <mutex>

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

  // out[T, H] = sum_j w[t, j] * down_e(silu(gate_e(x_t)) * up_e(x_t)), e = ids[t, j]; every
  // argument a cl_mem in the session's context with element offsets. Scratch buffers grow to the
  // largest T seen and are reused (callers hold the layer's launch mutex).
  void enqueue(const Session& s, const MoeExpertKernels& experts, int64_t T, int32_t top_k, cl_mem x,
               uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off, cl_mem out,
               uint32_t out_off);

 private:
  void ensure_scratch(const Session& s, int64_t pairs, int32_t max_tiles);
  Kernel route_, combine_;
  int64_t E_ = 0, H_ = 0, I_ = 0;
  int64_t scratch_pairs_ = 0;
  int32_t scratch_tiles_ = 0;
  DeviceBuffer sorted_, tiles_, num_tiles_, h_, ypair_;
};

}  // namespace incq::inc_xpu

#endif
