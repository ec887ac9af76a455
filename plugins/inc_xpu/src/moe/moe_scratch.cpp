#include "moe_scratch.hpp"

namespace incq::inc_xpu {
namespace {

void grow(DeviceBuffer& b, const Session& s, size_t bytes, const char* what) {
  if (bytes > b.bytes()) b = DeviceBuffer(s, bytes, what);  // the queue keeps a replaced one alive while in use
}

}  // namespace

void MoeScratch::reserve(const Session& s, int64_t pairs, int64_t intermediate, int64_t hidden, int64_t max_tiles) {
  grow(sorted_, s, static_cast<size_t>(pairs) * sizeof(int32_t), "MoE sorted pairs");
  grow(tiles_, s, static_cast<size_t>(max_tiles) * 3 * sizeof(int32_t), "MoE tiles");
  grow(num_tiles_, s, sizeof(int32_t), "MoE tile count");
  grow(h_, s, static_cast<size_t>(pairs * intermediate) * sizeof(float), "MoE intermediate");
  grow(ypair_, s, static_cast<size_t>(pairs * hidden) * sizeof(float), "MoE per-pair outputs");
}

}  // namespace incq::inc_xpu
