// Where N (out_features) and K (in_features) lie inside each checkpoint tensor of one projection,
// per scheme (DESIGN §4), and the copying of ranges of those tensors into owned buffers. Tensor
// parallelism (tensor_parallel.hpp) slices along these axes; fused modules (fused_modules.hpp)
// concatenate along N. One statement of the layouts serves both, so they cannot disagree.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"

namespace incq::host {

// How one logical axis (N or K) maps onto one dimension of a stored tensor: `logical` consecutive
// indices of the axis occupy `stored` consecutive entries of dimension `dim` (GPTQ 4-bit qzeros:
// 8 columns per int32 word -> {1, 8, 1}; 3-bit: 32 columns per 3 words -> {1, 32, 3}; a group
// table: G rows per group -> {0, G, 1}). dim -1: the tensor does not vary along this axis, so
// every part of a split gets all of it.
struct AxisMap {
  int dim = -1;
  int64_t logical = 1;
  int64_t stored = 1;
  std::string rule;  // why the unit is what it is, for error messages
};

struct TensorLayout {
  std::string role;  // "qweight", "scales", "weight_scale", ...
  AxisMap n;
  AxisMap k;
  // Row split of an INT layer: the group table is cut with K (its g_idx must then be rebased by
  // the first group of the part) only when the groups are contiguous runs of G rows.
  bool rebase_g_idx = false;
  // The bias: column parts take their slice; of the row parts only rank 0 keeps it, because the
  // row parts' outputs are summed and the bias must be added once.
  bool is_bias = false;
};

// The layout of tensor `role` of layer `layer` under `scheme`. act_order: the layer's g_idx is not
// k / G (its rows' groups are scattered over K), so a row part needs the whole group table.
// Throws Error naming the layer and tensor for a role the scheme has no rule for.
TensorLayout tensor_layout(const std::string& layer, const std::string& role, const incq_scheme& scheme, bool act_order);

// The stored extent of an axis of length `length` under `map` (ceil: a last, partial group/block).
int64_t stored_extent(const AxisMap& map, int64_t length);

// True when g_idx (I32 [K], any stride) is not simply k / G: act-order (desc_act) checkpoints.
// group_size -1 means one group over K (every entry 0).
bool is_act_order(const incq_tensor& g_idx, int64_t K, int32_t group_size);

// One run of a stored tensor along one dimension: entries [begin, end) of `dim`.
struct TensorRun {
  const incq_tensor* tensor;
  int64_t begin;
  int64_t end;
};

// Copies runs (all of one dtype, equal in every other dimension; CPU, any strides, 0 to 2
// dimensions; a 0-d tensor reads as [1]) into one row-major tensor, concatenated along `dim`.
// dim -1 copies the first run's tensor whole. Throws Error naming `name` on a mismatch.
quant::PackedTensor gather_runs(const std::string& name, const std::vector<TensorRun>& runs, int dim);

// "[a, b]" for messages.
std::string shape_text(const incq_tensor& t);

}  // namespace incq::host
