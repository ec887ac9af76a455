#include "moe_driver.hpp"

#include <algorithm>
#include <utility>

#include "incq/plugin_helpers.hpp"
#include "moe_scratch.hpp"

namespace incq::inc_xpu {
namespace {

int32_t max_tiles_for(int64_t pairs, int32_t rows_per_tile, int64_t E) {
  // Every non-empty expert has one partial tile at most: floor(pairs / R) full tiles + min(E, pairs).
  return static_cast<int32_t>(pairs / rows_per_tile + std::min<int64_t>(E, pairs));
}

}  // namespace

MoeDriver::MoeDriver(cl_program program, int64_t num_experts, int64_t hidden, int64_t intermediate)
    : route_(program, "moe_route_group_by_expert"),
      combine_(program, "moe_combine_topk"),
      E_(num_experts),
      H_(hidden),
      I_(intermediate),
      bad_host_(new int32_t[2]{0, 0}) {}

MoeDriver::~MoeDriver() {
  if (bad_read_ != nullptr) {
    clWaitForEvents(1, &bad_read_);  // the read targets bad_host_
    clReleaseEvent(bad_read_);
  }
}

MoeDriver::MoeDriver(MoeDriver&& o) noexcept
    : route_(std::move(o.route_)),
      combine_(std::move(o.combine_)),
      E_(o.E_),
      H_(o.H_),
      I_(o.I_),
      reserved_(o.reserved_),
      who_(std::move(o.who_)),
      bad_(std::move(o.bad_)),
      bad_host_(std::move(o.bad_host_)),
      bad_read_(std::exchange(o.bad_read_, nullptr)),
      reset_next_(o.reset_next_),
      applies_since_read_(o.applies_since_read_) {}

MoeDriver& MoeDriver::operator=(MoeDriver&& o) noexcept {
  if (this != &o) {
    if (bad_read_ != nullptr) {
      clWaitForEvents(1, &bad_read_);
      clReleaseEvent(bad_read_);
    }
    route_ = std::move(o.route_);
    combine_ = std::move(o.combine_);
    E_ = o.E_;
    H_ = o.H_;
    I_ = o.I_;
    reserved_ = o.reserved_;
    who_ = std::move(o.who_);
    bad_ = std::move(o.bad_);
    bad_host_ = std::move(o.bad_host_);
    bad_read_ = std::exchange(o.bad_read_, nullptr);
    reset_next_ = o.reset_next_;
    applies_since_read_ = o.applies_since_read_;
  }
  return *this;
}

void MoeDriver::reserve(const Session& s) {
  if (reserved_) return;
  // R = 1 gives the most tiles for a pair count.
  s.moe().reserve(s, kMoeChunkPairs, I_, H_, max_tiles_for(kMoeChunkPairs, 1, E_));
  const int32_t zero[2] = {0, 0};
  bad_ = DeviceBuffer(s, zero, sizeof zero, "MoE expert id record");
  reserved_ = true;
}

void MoeDriver::enqueue_id_read(const Session& s, bool blocking) {
  cl_check(clEnqueueReadBuffer(s.queue(), bad_.get(), blocking ? CL_TRUE : CL_FALSE, 0, 2 * sizeof(int32_t),
                               bad_host_.get(), 0, nullptr, &bad_read_),
           "inc_xpu: reading the MoE expert id record");
  reset_next_ = true;
  applies_since_read_ = 0;
}

void MoeDriver::check_ids_now(const Session& s) {
  if (!reserved_) return;
  if (bad_read_ == nullptr) enqueue_id_read(s, true);
  check_ids();
}

void MoeDriver::check_ids() {
  if (bad_read_ == nullptr) return;
  cl_check(clWaitForEvents(1, &bad_read_), "inc_xpu: reading the MoE expert id record");
  clReleaseEvent(bad_read_);
  bad_read_ = nullptr;
  const int32_t pair = bad_host_[0] - 1, id = bad_host_[1];
  bad_host_[0] = bad_host_[1] = 0;
  if (pair >= 0)
    fail(INCQ_ERR_INVALID_ARGUMENT, who_ + ": topk_ids on the device held " + std::to_string(id) +
                                        " at flat slot " + std::to_string(pair) + " (row-major [T, k]), not an expert index in [0, " +
                                        std::to_string(E_) + "); that slot was skipped (it contributed nothing)");
}

void MoeDriver::enqueue(const Session& s, const MoeExpertKernels& experts, int64_t T, int32_t top_k, cl_mem x,
                        uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off, cl_mem out,
                        uint32_t out_off) {
  check_ids();  // an earlier apply's record (host queues: nothing waited for it then)
  if (T == 0) return;
  auto lock = s.moe().lock();
  reserve(s);
  // Whole tokens per chunk, at least one (a top_k above kMoeChunkPairs is refused below).
  const int64_t chunk = kMoeChunkPairs / top_k;
  if (chunk < 1)
    fail(INCQ_ERR_INVALID_ARGUMENT, who_ + ": top_k " + std::to_string(top_k) + " is above " +
                                        std::to_string(kMoeChunkPairs) + " slots per token");
  for (int64_t t0 = 0; t0 < T; t0 += chunk)
    enqueue_chunk(s, experts, t0, std::min(chunk, T - t0), top_k, x, x_off, ids, ids_off, weights, w_off, out, out_off);
  // On the host's queue the record comes back every kMoeIdCheckInterval applies, without blocking.
  if (++applies_since_read_ >= kMoeIdCheckInterval) enqueue_id_read(s, false);
}

void MoeDriver::enqueue_chunk(const Session& s, const MoeExpertKernels& experts, int64_t t0, int64_t T, int32_t top_k,
                              cl_mem x, uint32_t x_off, cl_mem ids, uint32_t ids_off, cl_mem weights, uint32_t w_off,
                              cl_mem out, uint32_t out_off) {
  const MoeScratch& sc = s.moe();
  MoeRouting r;
  r.top_k = top_k;
  r.pairs = T * top_k;
  r.rows_per_tile = experts.rows_per_tile(r.pairs);
  r.max_tiles = max_tiles_for(r.pairs, r.rows_per_tile, E_);
  r.sorted_pairs = sc.sorted();
  r.tiles = sc.tiles();
  r.num_tiles = sc.num_tiles();
  // This chunk's tokens: element offsets into the caller's tensors.
  const uint32_t pair0 = static_cast<uint32_t>(t0 * top_k);
  x_off += static_cast<uint32_t>(t0 * H_);
  out_off += static_cast<uint32_t>(t0 * H_);
  ids_off += pair0;
  w_off += pair0;

  const cl_int pairs = static_cast<cl_int>(r.pairs), E = static_cast<cl_int>(E_), R = r.rows_per_tile;
  const cl_int max_tiles = r.max_tiles, pair_base = static_cast<cl_int>(pair0), reset = t0 == 0 && reset_next_ ? 1 : 0;
  if (t0 == 0) reset_next_ = false;
  ArgSetter{route_}(ids)(ids_off)(pairs)(E)(R)(max_tiles)(r.sorted_pairs)(r.tiles)(r.num_tiles)(bad_.get())(pair_base)(reset)(
      LocalBytes{static_cast<size_t>(E_) * sizeof(cl_int)})(LocalBytes{static_cast<size_t>(E_) * sizeof(cl_int)});
  launch_kernel(s, route_, 1, {256, 1, 1}, {256, 1, 1});

  experts.enqueue_gate_up(s, r, x, x_off, sc.h());
  experts.enqueue_down(s, r, sc.h(), sc.ypair());

  const cl_int Ti = static_cast<cl_int>(T), K = top_k, Hi = static_cast<cl_int>(H_);
  ArgSetter{combine_}(sc.ypair())(ids)(ids_off)(weights)(w_off)(out)(out_off)(Ti)(K)(E)(Hi);
  launch_kernel(s, combine_, 2, {static_cast<size_t>(H_), static_cast<size_t>(T), 1}, {64, 1, 1});
}

}  // namespace incq::inc_xpu
