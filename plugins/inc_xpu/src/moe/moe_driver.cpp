#include "moe_driver.hpp"

#include <algorithm>

namespace incq::inc_xpu {

MoeDriver::MoeDriver(cl_program program, int64_t num_experts, int64_t hidden, int64_t intermediate)
    : route_(program, "moe_route_group_by_expert"),
      combine_(program, "moe_combine_topk"),
      E_(num_experts),
      H_(hidden),
      I_(intermediate) {}

void MoeDriver::ensure_scratch(const Session& s, int64_t pairs, int32_t max_tiles) {
  if (pairs > scratch_pairs_) {
    sorted_ = DeviceBuffer(s, static_cast<size_t>(pairs) * sizeof(int32_t), "MoE sorted pairs");
    h_ = DeviceBuffer(s, static_cast<size_t>(pairs * I_) * sizeof(float), "MoE intermediate");
    ypair_ = DeviceBuffer(s, static_cast<size_t>(pairs * H_) * sizeof(float), "MoE per-pair outputs");
    scratch_pairs_ = pairs;
  }
  if (max_tiles > scratch_tiles_) {
    tiles_ = DeviceBuffer(s, static_cast<size_t>(max_tiles) * 3 * sizeof(int32_t), "MoE tiles");
    scratch_tiles_ = max_tiles;
  }
  if (num_tiles_.get() == nullptr) num_tiles_ = DeviceBuffer(s, sizeof(int32_t), "MoE tile count");
}

void MoeDriver::enqueue(const Session& s, const MoeExpertKernels& experts, int64_t T, int32_t top_k, cl_mem x,
                        uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off, cl_mem out,
                        uint32_t out_off) {
  if (T == 0) return;
  MoeRouting r;
  r.top_k = top_k;
  r.pairs = T * top_k;
  r.rows_per_tile = experts.rows_per_tile(r.pairs);
  // Every non-empty expert has one partial tile at most: floor(pairs / R) full tiles + min(E, pairs).
  r.max_tiles = static_cast<int32_t>(r.pairs / r.rows_per_tile + std::min<int64_t>(E_, r.pairs));
  ensure_scratch(s, r.pairs, r.max_tiles);
  r.sorted_pairs = sorted_.get();
  r.tiles = tiles_.get();
  r.num_tiles = num_tiles_.get();

  const cl_int pairs = static_cast<cl_int>(r.pairs), E = static_cast<cl_int>(E_), R = r.rows_per_tile;
  const cl_int max_tiles = r.max_tiles;
  ArgSetter{route_}(ids)(ids_off)(pairs)(E)(R)(max_tiles)(r.sorted_pairs)(r.tiles)(r.num_tiles)(
      LocalBytes{static_cast<size_t>(E_) * sizeof(cl_int)})(LocalBytes{static_cast<size_t>(E_) * sizeof(cl_int)});
  launch_kernel(s, route_, 1, {256, 1, 1}, {256, 1, 1});

  experts.enqueue_gate_up(s, r, x, x_off, h_.get());
  experts.enqueue_down(s, r, h_.get(), ypair_.get());

  const cl_int Ti = static_cast<cl_int>(T), K = top_k, Hi = static_cast<cl_int>(H_);
  ArgSetter{combine_}(ypair_.get())(ids)(ids_off)(weights)(w_off)(out)(out_off)(Ti)(K)(E)(Hi);
  launch_kernel(s, combine_, 2, {static_cast<size_t>(H_), static_cast<size_t>(T), 1}, {64, 1, 1});
}

}  // namespace incq::inc_xpu
