// GPTQ act-order ("desc_act") style group assignments, for building test checkpoints.
#pragma once

#include <cstdint>
#include <vector>

namespace incq::host::quant {

// A seeded permutation of the K rows; consecutive runs of G rows of it form the groups, so row
// perm[i] belongs to group i / G. This is the shape act-order checkpoints have: every group has
// G rows (the last one fewer when G does not divide K), scattered over K. group_size -1: all 0.
// The same (K, G, seed) gives the same answer on every platform (no std::shuffle).
std::vector<int32_t> make_act_order_g_idx(int64_t K, int group_size, uint64_t seed);

}  // namespace incq::host::quant
