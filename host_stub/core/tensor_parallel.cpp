#include "core/tensor_parallel.hpp"

#include <fmt/format.h>

#include <cstring>
#include <numeric>

#include "common/error.hpp"
#include "core/tensor_layout.hpp"

namespace incq::host {

namespace {

const char* const kExpertProjections[] = {"gate_proj", "up_proj", "down_proj"};

// The extents a tensor must have along N and K, checked before slicing so that a wrong shape is
// reported as such and not as an out-of-range cut.
void check_extents(const ProjectionWeights& p, const std::string& role, const incq_tensor& t, const TensorLayout& l) {
  auto check = [&](const AxisMap& m, int64_t length, const char* axis) {
    if (m.dim < 0) return;
    const int64_t want = stored_extent(m, length);
    if (m.dim >= t.ndim || t.shape[m.dim] != want)
      throw Error(fmt::format("layer '{}': tensor '{}' has shape {}, but dimension {} should be {} ({} = {}{})", p.name,
                              role, shape_text(t), m.dim, want, axis, length, m.rule.empty() ? "" : "; " + m.rule));
  };
  check(l.n, p.out_features, "N");
  check(l.k, p.in_features, "K");
}

// The stored run of one logical range [begin, begin + len) of an axis; the cut must fall on the
// axis' unit (a packed word, a group, a block).
TensorRun run_of(const ProjectionWeights& p, const std::string& role, const incq_tensor& t, const AxisMap& m,
                 int64_t begin, int64_t len, const std::string& what) {
  if (begin % m.logical != 0 || len % m.logical != 0)
    throw Error(fmt::format("layer '{}': tensor '{}': {} must start and end on a multiple of {} ({})", p.name, role,
                            what, m.logical, m.rule));
  return TensorRun{&t, begin / m.logical * m.stored, (begin + len) / m.logical * m.stored};
}

void check_partition(const TpPartition& part, const std::string& layer) {
  if (part.world < 1 || part.rank < 0 || part.rank >= part.world)
    throw Error(fmt::format("layer '{}': rank {} of {} ranks is not a valid tensor-parallel partition", layer,
                            part.rank, part.world));
}

}  // namespace

const char* split_name(TpSplit split) { return split == TpSplit::Column ? "column" : "row"; }

const incq_tensor* ProjectionWeights::find(const std::string& role) const {
  for (const auto& t : tensors)
    if (t.name == role) return &t.tensor;
  return nullptr;
}

ProjectionWeights projection_weights(const st::Checkpoint& ckpt, const ProjectionTensors& p) {
  ProjectionWeights w;
  w.name = p.name;
  w.in_features = p.in_features;
  w.out_features = p.out_features;
  for (const auto& [role, tname] : p.tensors) {
    if (ckpt.find(tname) == nullptr)
      throw Error(fmt::format("{}: layer '{}': tensor '{}' is not in the checkpoint", ckpt.dir(), p.name, tname));
    w.tensors.push_back({role, projection_tensor(ckpt, p, role)});  // expert's slice when stacked
  }
  return w;
}

bool PartitionedProjection::has(const std::string& role) const { return find(role) != nullptr; }

const quant::PackedTensor* PartitionedProjection::find(const std::string& role) const {
  for (const auto& t : tensors)
    if (t.name == role) return &t;
  return nullptr;
}

std::vector<BundleTensor> PartitionedProjection::bundle(const std::string& prefix) const {
  std::vector<BundleTensor> out;
  for (const auto& t : tensors) out.push_back({prefix + t.name, quant::tensor_view(t)});
  return out;
}

PartitionedProjection shard_projection(const ProjectionWeights& p, const incq_scheme& scheme, const TpPartition& part,
                                       const std::vector<int64_t>& output_partitions) {
  check_partition(part, p.name);
  const int64_t K = p.in_features, N = p.out_features, R = part.world, r = part.rank;
  std::vector<int64_t> parts = output_partitions.empty() ? std::vector<int64_t>{N} : output_partitions;
  if (std::accumulate(parts.begin(), parts.end(), int64_t{0}) != N)
    throw Error(fmt::format("layer '{}': output partitions sum to {}, but N = {}", p.name,
                            std::accumulate(parts.begin(), parts.end(), int64_t{0}), N));

  const incq_tensor* g_idx = p.find("g_idx");
  const bool act_order = scheme.family == INCQ_FAMILY_INT && g_idx != nullptr && is_act_order(*g_idx, K, scheme.group_size);

  PartitionedProjection out;
  out.name = p.name;
  out.in_features = K;
  out.out_features = N;
  if (part.split == TpSplit::Column) {
    out.out_features = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i] % R != 0)
        throw Error(fmt::format("layer '{}': column split over {} ranks: output partition {} has {} columns, which "
                                "is not divisible by {}", p.name, R, i, parts[i], R));
      out.out_features += parts[i] / R;
      if (parts.size() > 1) out.output_partitions.push_back(parts[i] / R);
    }
  } else {
    if (K % R != 0)
      throw Error(fmt::format("layer '{}': row split of K = {} over {} ranks: K is not divisible by {}", p.name, K, R, R));
    out.in_features = K / R;
  }

  for (const auto& bt : p.tensors) {
    const std::string& role = bt.name;
    const incq_tensor& t = bt.tensor;
    const TensorLayout l = tensor_layout(p.name, role, scheme, act_order);
    check_extents(p, role, t, l);
    if (l.is_bias && part.split == TpSplit::Row && r != 0) continue;  // the summed outputs add it once

    std::vector<TensorRun> runs;
    int dim = -1;
    if (part.split == TpSplit::Column && l.n.dim >= 0) {
      dim = l.n.dim;
      int64_t offset = 0;
      for (size_t i = 0; i < parts.size(); ++i) {
        const int64_t each = parts[i] / R;
        const std::string what =
            parts.size() > 1
                ? fmt::format("the column split of output partition {} ({} columns at {}) into {} ranks of {}", i,
                              parts[i], offset, R, each)
                : fmt::format("the column split of N = {} into {} ranks of {}", N, R, each);
        runs.push_back(run_of(p, role, t, l.n, offset + r * each, each, what));
        offset += parts[i];
      }
    } else if (part.split == TpSplit::Row && l.k.dim >= 0) {
      dim = l.k.dim;
      const int64_t each = K / R;
      runs.push_back(run_of(p, role, t, l.k, r * each, each,
                            fmt::format("the row split of K = {} into {} ranks of {}", K, R, each)));
    } else {
      runs.push_back(TensorRun{&t, 0, 0});  // replicated: copied whole
    }
    quant::PackedTensor piece = gather_runs(role, runs, dim);
    if (role == "g_idx" && part.split == TpSplit::Row && l.rebase_g_idx) {
      // The rank holds groups [r*(K/R)/G, ...) of the table: make its g_idx point into that slice.
      const int32_t first = static_cast<int32_t>(r * (K / R) / scheme.group_size);
      for (size_t i = 0; i + 4 <= piece.bytes.size(); i += 4) {
        int32_t g;
        std::memcpy(&g, &piece.bytes[i], 4);
        g -= first;
        std::memcpy(&piece.bytes[i], &g, 4);
      }
    }
    out.tensors.push_back(std::move(piece));
  }
  return out;
}

incq_layer_desc partition_desc(const incq_layer_desc& full, const PartitionedProjection& shard) {
  incq_layer_desc d = full;
  d.in_features = shard.in_features;
  d.out_features = shard.out_features;
  d.has_bias = shard.has("bias") ? 1 : 0;
  d.scheme.has_g_idx = shard.has("g_idx") ? 1 : 0;
  if (shard.output_partitions.size() > 1) {
    d.num_output_partitions = static_cast<int32_t>(shard.output_partitions.size());
    d.output_partition_sizes = shard.output_partitions.data();
  } else {
    d.num_output_partitions = 0;
    d.output_partition_sizes = nullptr;
  }
  return d;
}

std::vector<BundleTensor> ShardedMoe::bundle() const {
  std::vector<BundleTensor> out;
  for (size_t i = 0; i < projections.size(); ++i) {
    const auto part = projections[i].bundle(fmt::format("{}.{}.", i / 3, kExpertProjections[i % 3]));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

ShardedMoe shard_moe(const std::string& name, const std::vector<ProjectionWeights>& experts, const incq_scheme& scheme,
                     int rank, int world) {
  if (experts.empty() || experts.size() % 3 != 0)
    throw Error(fmt::format("MoE '{}': {} projections given, expected 3 per expert (gate_proj, up_proj, down_proj)",
                            name, experts.size()));
  ShardedMoe out;
  out.num_experts = static_cast<int64_t>(experts.size() / 3);
  out.hidden_size = experts[0].in_features;
  for (size_t i = 0; i < experts.size(); ++i) {
    const bool down = i % 3 == 2;
    const int64_t want_in = down ? experts[0].out_features : out.hidden_size;
    const int64_t want_out = down ? out.hidden_size : experts[0].out_features;
    if (experts[i].in_features != want_in || experts[i].out_features != want_out)
      throw Error(fmt::format("MoE '{}': '{}' is {} -> {}, but expert 0 gate_proj makes it {} -> {}", name,
                              experts[i].name, experts[i].in_features, experts[i].out_features, want_in, want_out));
    // gate/up map H -> I: split their columns; down maps I -> H: split its rows; each rank then
    // computes its slice of the intermediate activations and a partial down projection.
    const TpPartition part{down ? TpSplit::Row : TpSplit::Column, rank, world};
    out.projections.push_back(shard_projection(experts[i], scheme, part));
  }
  out.intermediate_size = out.projections[0].out_features;
  return out;
}

incq_layer_desc partition_desc(const incq_layer_desc& full, const ShardedMoe& shard) {
  incq_layer_desc d = full;
  d.intermediate_size = shard.intermediate_size;
  d.hidden_size = shard.hidden_size;
  d.num_experts = shard.num_experts;
  d.in_features = shard.hidden_size;
  d.out_features = shard.hidden_size;
  return d;
}

}  // namespace incq::host
