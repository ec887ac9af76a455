// Tensor-parallel partitions of quantized projections (DESIGN §4 "Tensor parallelism"): rank r of R
// gets its own checkpoint tensors (owned copies) and the incq_layer_desc sizes of its partition.
//
//  column split: N/R output columns each; the ranks' outputs are concatenated (per output
//                partition, for a merged layer: each of q/k/v is split on its own, as vLLM's
//                QKVParallelLinear does).
//  row split:    K/R input rows each; the ranks' outputs are summed. Group tables are cut with K
//                when groups are contiguous runs of G rows (and G divides K/R; g_idx is rebased);
//                with act-order g_idx a rank keeps its g_idx values, which index the FULL group
//                table, so every rank gets the whole table (replicated, as vLLM does for desc_act);
//                per-channel (group -1) scales are replicated too. The bias goes to rank 0 only.
//  MoE:          the standard expert TP: gate/up column-split and down row-split along the
//                intermediate dimension, outputs summed.
// Packed axes must be cut on whole words (GPTQ along K for qweight and along N for qzeros, AWQ along
// N) and float scale groups/blocks must not be cut; anything else is an Error naming the layer, the
// tensor and the rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/loaded_layer.hpp"
#include "core/model_plan.hpp"
#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host {

enum class TpSplit { Column, Row };
const char* split_name(TpSplit split);

struct TpPartition {
  TpSplit split = TpSplit::Column;
  int rank = 0;
  int world = 1;
};

// One projection's checkpoint tensors as borrowed CPU views, by role ("qweight", "scales",
// "weight", "weight_scale", "bias", ...).
struct ProjectionWeights {
  std::string name;  // module name, for messages
  int64_t in_features = 0;
  int64_t out_features = 0;
  std::vector<BundleTensor> tensors;
  const incq_tensor* find(const std::string& role) const;  // nullptr when absent
};

// The views of a planned projection's tensors (valid while the checkpoint lives and keeps them).
ProjectionWeights projection_weights(const st::Checkpoint& ckpt, const ProjectionTensors& p);

// A projection's tensors after sharding or merging: owned, row-major.
struct PartitionedProjection {
  std::string name;
  int64_t in_features = 0;
  int64_t out_features = 0;
  // Sizes of the output partitions of this layer (a merged layer: one per part); empty = one.
  std::vector<int64_t> output_partitions;
  std::vector<quant::PackedTensor> tensors;  // PackedTensor::name is the role

  bool has(const std::string& role) const;
  const quant::PackedTensor* find(const std::string& role) const;
  // Bundle entries "<prefix><role>" viewing `tensors` (valid while this object lives, unchanged).
  std::vector<BundleTensor> bundle(const std::string& prefix = "") const;
};

// Rank part.rank's tensors. output_partitions: the sizes of the full layer's merged output
// partitions (empty = one); a column split divides each of them by R. Throws Error naming the
// layer, the tensor and the rule when the split is impossible or a tensor has the wrong shape.
PartitionedProjection shard_projection(const ProjectionWeights& p, const incq_scheme& scheme, const TpPartition& part,
                                       const std::vector<int64_t>& output_partitions = {});

// The Linear layer desc of a partition: `full` with this partition's in/out features, bias and
// output partitions (output_partition_sizes points into `shard`: keep it alive while desc is used).
incq_layer_desc partition_desc(const incq_layer_desc& full, const PartitionedProjection& shard);

// A MoE's experts sharded along the intermediate dimension for one rank.
struct ShardedMoe {
  int64_t num_experts = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // this rank's
  std::vector<PartitionedProjection> projections;  // per expert: gate_proj, up_proj, down_proj
  // Bundle entries "<e>.<proj>.<role>" as the ABI names MoE tensors.
  std::vector<BundleTensor> bundle() const;
};

// experts: num_experts x {gate_proj, up_proj, down_proj} in order (as ModulePlan::projections).
ShardedMoe shard_moe(const std::string& name, const std::vector<ProjectionWeights>& experts, const incq_scheme& scheme,
                     int rank, int world);

// The MoE layer desc of a rank: `full` with the rank's intermediate_size.
incq_layer_desc partition_desc(const incq_layer_desc& full, const ShardedMoe& shard);

}  // namespace incq::host
