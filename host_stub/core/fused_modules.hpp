// Fused modules (qkv_proj <- q/k/v, gate_up_proj <- gate/up): several projections that read the
// same input and whose outputs are concatenated along N.
//
// Parts with the same scheme are merged into one layer: their tensors are concatenated along N
// and the layer desc carries num_output_partitions / output_partition_sizes. Parts that cannot
// share one set of tensors (different bits, group size, sym, packing or family — e.g. a hybrid
// checkpoint with mixed q/k/v — or different act-order g_idx, or per-tensor scales that differ)
// run as separate layers, each with the implementation selected for its own scheme; the fused
// output is still the concatenation of the parts' outputs. Where vLLM raises an error for mixed
// schemes inside one fused module, incq runs them this way and gives exactly the unfused outputs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "core/loaded_layer.hpp"
#include "core/selection.hpp"
#include "core/tensor_parallel.hpp"

namespace incq::host {

// Consecutive parts loaded as one layer.
struct FusedGroup {
  std::vector<size_t> parts;  // indices into the plan's parts, consecutive
  int64_t col_begin = 0;      // first column of the group in the fused output
  int64_t cols = 0;
};

struct FusedPlan {
  std::string name;  // the fused module, e.g. model.layers.0.self_attn.qkv_proj
  int64_t in_features = 0;
  std::vector<int64_t> part_out_features;
  std::vector<FusedGroup> groups;
  // One line per boundary where a part starts a new group: why it could not join the previous one.
  std::vector<std::string> split_reasons;
  int64_t out_features() const;
};

// Why b cannot be merged into one layer with a (empty when it can): schemes, K, tensor sets,
// tensors that do not vary along N but differ (g_idx, per-tensor scales), N not on the packing unit.
std::string merge_blocker(const ProjectionWeights& a, const LayerScheme& sa, const ProjectionWeights& b,
                          const LayerScheme& sb);

// Groups consecutive mergeable parts. Throws Error naming the fused module and the part when the
// parts disagree on K, a part is dense, or the lists differ in length.
FusedPlan plan_fused(const std::string& name, const std::vector<ProjectionWeights>& parts,
                     const std::vector<LayerScheme>& schemes);
FusedPlan plan_fused(const std::string& name, const st::Checkpoint& ckpt, const std::vector<ProjectionTensors>& parts,
                     const std::vector<LayerScheme>& schemes);

// The tensors of one layer made of `parts` (same scheme, same K): every tensor that varies along N
// concatenated along it, the others taken once; a bias where only some parts have one is filled
// with zeros for the others. output_partitions = the parts' N. Throws Error (with merge_blocker's
// reason) when the parts cannot be merged.
PartitionedProjection merge_projections(const std::string& name, const std::vector<const ProjectionWeights*>& parts,
                                        const LayerScheme& scheme);

// A fused module loaded through the plugins: one LoadedLayer per group.
class FusedLinear {
 public:
  struct Layer {
    std::unique_ptr<LoadedLayer> layer;
    FusedGroup group;
    std::string how;  // how the implementation was selected
  };

  // Selects and loads every group's layer (select_implementation per group, so each part of a
  // mixed module gets the implementation for its own scheme). Throws Error naming the layer.
  static std::unique_ptr<FusedLinear> load(const Registry& registry, const incq_device& device,
                                           const SelectionPolicy& policy, const FusedPlan& plan,
                                           const std::vector<ProjectionWeights>& parts,
                                           const std::vector<LayerScheme>& schemes, int32_t act_dtype);

  // x [M, K] -> y [M, sum N] (row-major rows: y.strides[1] == 1), in the activation dtype.
  void apply(const incq_tensor& x, incq_tensor& y, const incq_exec& exec) const;

  const std::vector<Layer>& layers() const { return layers_; }
  const FusedPlan& plan() const { return plan_; }

 private:
  FusedLinear() = default;
  FusedPlan plan_;
  std::vector<Layer> layers_;
};

}  // namespace incq::host
