#include "core/fused_modules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <set>

#include "common/error.hpp"
#include "core/tensor_layout.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host {

namespace {

bool act_order_of(const ProjectionWeights& p, const LayerScheme& s) {
  const incq_tensor* g = p.find("g_idx");
  return s.scheme.family == INCQ_FAMILY_INT && g != nullptr && is_act_order(*g, p.in_features, s.scheme.group_size);
}

std::set<std::string> roles_without_bias(const ProjectionWeights& p) {
  std::set<std::string> r;
  for (const auto& t : p.tensors)
    if (t.name != "bias") r.insert(t.name);
  return r;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

bool same_contents(const std::string& role, const incq_tensor& a, const incq_tensor& b) {
  if (a.dtype != b.dtype || a.ndim != b.ndim) return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.shape[i] != b.shape[i]) return false;
  return gather_runs(role, {{&a, 0, 0}}, -1).bytes == gather_runs(role, {{&b, 0, 0}}, -1).bytes;
}

incq_scheme scheme_with_tensors(const LayerScheme& s, bool has_g_idx) {
  incq_scheme q = s.scheme;
  q.struct_size = sizeof q;
  q.has_g_idx = has_g_idx ? 1 : 0;
  return q;
}

}  // namespace

int64_t FusedPlan::out_features() const {
  int64_t n = 0;
  for (int64_t p : part_out_features) n += p;
  return n;
}

std::string merge_blocker(const ProjectionWeights& a, const LayerScheme& sa, const ProjectionWeights& b,
                          const LayerScheme& sb) {
  if (sa != sb) return fmt::format("'{}' is {} but '{}' is {}", a.name, sa.describe(), b.name, sb.describe());
  if (a.in_features != b.in_features)
    return fmt::format("'{}' has K = {} but '{}' has K = {}", a.name, a.in_features, b.name, b.in_features);
  if (roles_without_bias(a) != roles_without_bias(b))
    return fmt::format("'{}' has tensors {{{}}} but '{}' has {{{}}}", a.name, join(roles_without_bias(a)), b.name,
                       join(roles_without_bias(b)));
  const incq_tensor* ba = a.find("bias");
  const incq_tensor* bb = b.find("bias");
  if (ba && bb && ba->dtype != bb->dtype)
    return fmt::format("'{}' has a {} bias but '{}' a {} one", a.name, incq::dtype_name(ba->dtype), b.name,
                       incq::dtype_name(bb->dtype));
  const bool act_order = act_order_of(a, sa);
  for (const auto& t : a.tensors) {
    if (t.name == "bias") continue;
    const TensorLayout l = tensor_layout(a.name, t.name, sa.scheme, act_order);
    if (l.n.dim < 0) {
      // One copy serves the merged layer only when every part holds the same values.
      if (!same_contents(t.name, t.tensor, *b.find(t.name)))
        return fmt::format("tensor '{}' differs between '{}' and '{}' and does not vary along N, so one merged layer "
                           "cannot hold both", t.name, a.name, b.name);
      continue;
    }
    for (const ProjectionWeights* p : {&a, &b})
      if (p->out_features % l.n.logical != 0)
        return fmt::format("'{}' has N = {}, not a multiple of {} ({}): its tensor '{}' cannot be concatenated "
                           "along N", p->name, p->out_features, l.n.logical, l.n.rule, t.name);
  }
  return "";
}

FusedPlan plan_fused(const std::string& name, const std::vector<ProjectionWeights>& parts,
                     const std::vector<LayerScheme>& schemes) {
  if (parts.empty() || parts.size() != schemes.size())
    throw Error(fmt::format("fused module '{}': {} parts but {} schemes", name, parts.size(), schemes.size()));
  FusedPlan plan;
  plan.name = name;
  plan.in_features = parts[0].in_features;
  int64_t col = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (!schemes[i].quantized)
      throw Error(fmt::format("fused module '{}': part '{}' is dense ({}); only quantized parts run through plugins",
                              name, p.name, schemes[i].rule));
    if (p.in_features != plan.in_features)
      throw Error(fmt::format("fused module '{}': part '{}' has K = {} but '{}' has K = {}; the parts of a fused "
                              "module read the same input", name, p.name, p.in_features, parts[0].name, plan.in_features));
    plan.part_out_features.push_back(p.out_features);
    std::string why;
    if (!plan.groups.empty()) {
      const size_t first = plan.groups.back().parts.front();
      why = merge_blocker(parts[first], schemes[first], p, schemes[i]);
      if (why.empty()) {
        plan.groups.back().parts.push_back(i);
        plan.groups.back().cols += p.out_features;
      }
    }
    if (plan.groups.empty() || !why.empty()) {
      if (!why.empty()) plan.split_reasons.push_back(fmt::format("'{}' runs as its own layer: {}", p.name, why));
      plan.groups.push_back(FusedGroup{{i}, col, p.out_features});
    }
    col += p.out_features;
  }
  return plan;
}

FusedPlan plan_fused(const std::string& name, const st::Checkpoint& ckpt, const std::vector<ProjectionTensors>& parts,
                     const std::vector<LayerScheme>& schemes) {
  std::vector<ProjectionWeights> w;
  for (const auto& p : parts) w.push_back(projection_weights(ckpt, p));
  return plan_fused(name, w, schemes);
}

PartitionedProjection merge_projections(const std::string& name, const std::vector<const ProjectionWeights*>& parts,
                                        const LayerScheme& scheme) {
  if (parts.empty()) throw Error(fmt::format("fused module '{}': nothing to merge", name));
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string why = merge_blocker(*parts[0], scheme, *parts[i], scheme);
    if (!why.empty()) throw Error(fmt::format("fused module '{}': cannot merge: {}", name, why));
  }
  const ProjectionWeights& first = *parts[0];
  PartitionedProjection out;
  out.name = name;
  out.in_features = first.in_features;
  for (const auto* p : parts) {
    out.out_features += p->out_features;
    out.output_partitions.push_back(p->out_features);
  }
  const bool act_order = act_order_of(first, scheme);
  for (const auto& t : first.tensors) {
    if (t.name == "bias") continue;
    const TensorLayout l = tensor_layout(name, t.name, scheme.scheme, act_order);
    std::vector<TensorRun> runs;
    if (l.n.dim < 0) {
      runs.push_back({&t.tensor, 0, 0});
    } else {
      for (const auto* p : parts) {
        const incq_tensor* pt = p->find(t.name);
        runs.push_back({pt, 0, pt->shape[l.n.dim]});
      }
    }
    out.tensors.push_back(gather_runs(t.name, runs, l.n.dim));
  }
  // A missing bias adds zero: fill its columns with zeros of the others' dtype.
  const incq_tensor* some_bias = nullptr;
  for (const auto* p : parts)
    if (!some_bias) some_bias = p->find("bias");
  if (some_bias) {
    std::vector<quant::PackedTensor> zeros;
    zeros.reserve(parts.size());
    std::vector<incq_tensor> zero_views;
    zero_views.reserve(parts.size());
    std::vector<TensorRun> runs;
    for (const auto* p : parts) {
      const incq_tensor* b = p->find("bias");
      if (b == nullptr) {
        zeros.push_back({"bias", some_bias->dtype, {p->out_features},
                         std::vector<uint8_t>(static_cast<size_t>(p->out_features) * incq::dtype_size(some_bias->dtype))});
        zero_views.push_back(quant::tensor_view(zeros.back()));
        b = &zero_views.back();
      }
      runs.push_back({b, 0, b->shape[0]});
    }
    out.tensors.push_back(gather_runs("bias", runs, 0));
  }
  return out;
}

std::unique_ptr<FusedLinear> FusedLinear::load(const Registry& registry, const incq_device& device,
                                               const SelectionPolicy& policy, const FusedPlan& plan,
                                               const std::vector<ProjectionWeights>& parts,
                                               const std::vector<LayerScheme>& schemes, int32_t act_dtype) {
  std::unique_ptr<FusedLinear> f(new FusedLinear());
  f->plan_ = plan;
  for (const auto& g : plan.groups) {
    const ProjectionWeights& first = parts.at(g.parts.front());
    const LayerScheme& scheme = schemes.at(g.parts.front());
    PartitionedProjection merged;  // holds the merged tensors until the plugin has copied them
    std::vector<BundleTensor> bundle;
    std::string layer_name;
    if (g.parts.size() > 1) {
      std::vector<const ProjectionWeights*> ps;
      std::vector<std::string> names;
      for (size_t i : g.parts) {
        ps.push_back(&parts.at(i));
        names.push_back(parts.at(i).name);
      }
      layer_name = g.parts.size() == plan.part_out_features.size() ? plan.name
                                                                    : fmt::format("{}[{}]", plan.name, fmt::join(names, "+"));
      merged = merge_projections(layer_name, ps, scheme);
      bundle = merged.bundle();
    } else {
      layer_name = first.name;
      bundle = first.tensors;
    }
    bool has_bias = false, has_g_idx = false;
    for (const auto& b : bundle) {
      has_bias = has_bias || b.name == "bias";
      has_g_idx = has_g_idx || b.name == "g_idx";
    }
    incq_layer_desc desc{};
    desc.struct_size = sizeof desc;
    desc.module_kind = INCQ_MODULE_LINEAR;
    desc.name = layer_name.c_str();
    desc.scheme = scheme_with_tensors(scheme, has_g_idx);
    desc.act_dtype = act_dtype;
    desc.has_bias = has_bias ? 1 : 0;
    desc.in_features = plan.in_features;
    desc.out_features = g.cols;
    if (merged.output_partitions.size() > 1) {
      desc.num_output_partitions = static_cast<int32_t>(merged.output_partitions.size());
      desc.output_partition_sizes = merged.output_partitions.data();
    }
    const Selection sel = select_implementation(registry, desc, device, policy);
    Layer l;
    l.layer = LoadedLayer::load(*sel.chosen, desc, device, bundle, scheme.scheme.packing,
                              options_for_layer(policy.layer_options, layer_name));
    l.group = g;
    l.how = sel.how;
    f->layers_.push_back(std::move(l));
  }
  return f;
}

void FusedLinear::apply(const incq_tensor& x, incq_tensor& y, const incq_exec& exec) const {
  const int64_t N = plan_.out_features();
  if (y.ndim != 2 || y.shape[1] != N || y.strides[1] != 1 || x.ndim != 2 || x.shape[0] != y.shape[0])
    throw Error(fmt::format("fused module '{}': output must be [M, {}] with unit column stride for input {}", plan_.name,
                            N, shape_text(x)));
  if (layers_.size() == 1) {
    layers_[0].layer->apply_linear(x, y, exec);
    return;
  }
  // Each part writes its own contiguous output, then its columns are placed into y: not every
  // implementation accepts a strided output, so no part is handed a view into y.
  const int64_t M = y.shape[0];
  const size_t es = incq::dtype_size(y.dtype);
  std::vector<uint8_t> tmp;
  for (const auto& l : layers_) {
    tmp.assign(static_cast<size_t>(M * l.group.cols) * es, 0);
    incq_tensor part = cpu_tensor(tmp.data(), y.dtype, {M, l.group.cols});
    l.layer->apply_linear(x, part, exec);
    uint8_t* base = static_cast<uint8_t*>(y.data) + y.byte_offset;
    for (int64_t m = 0; m < M; ++m)
      std::memcpy(base + static_cast<size_t>(m * y.strides[0] + l.group.col_begin) * es,
                  tmp.data() + static_cast<size_t>(m * l.group.cols) * es, static_cast<size_t>(l.group.cols) * es);
  }
}

}  // namespace incq::host
