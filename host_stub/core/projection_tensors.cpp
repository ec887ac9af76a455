#include "core/projection_tensors.hpp"

#include <fmt/format.h>

#include <vector>

#include "common/error.hpp"
#include "quant/unpack.hpp"

namespace incq::host {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

bool is_f8(int32_t dtype) { return dtype == INCQ_DTYPE_F8_E4M3 || dtype == INCQ_DTYPE_F8_E5M2; }

struct Roles {
  std::vector<const char*> required;
  std::vector<const char*> optional;
};

// The main weight tensor's role for a family, given what the checkpoint has.
const char* main_role(const st::Checkpoint& ckpt, const std::string& module, int32_t family) {
  switch (family) {
    case INCQ_FAMILY_INT: return "qweight";
    case INCQ_FAMILY_FP8: return "weight";
    default: return ckpt.find(module + ".weight_packed") ? "weight_packed" : "weight";
  }
}

Roles roles_for(int32_t family, const char* main) {
  switch (family) {
    case INCQ_FAMILY_INT: return {{"qweight", "qzeros", "scales"}, {"g_idx", "bias"}};
    case INCQ_FAMILY_FP8: return {{"weight"}, {"weight_scale", "weight_scale_inv", "bias"}};
    default: return {{main, "weight_scale"}, {"weight_global_scale", "input_global_scale", "bias"}};
  }
}

}  // namespace

bool has_quantized_weight(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme) {
  const int32_t family = scheme.scheme.family;
  const st::TensorView* t = ckpt.find(module + "." + main_role(ckpt, module, family));
  if (t == nullptr) return false;
  if (family == INCQ_FAMILY_INT || std::string(main_role(ckpt, module, family)) == "weight_packed") return true;
  // A 16-bit "weight" is a dense layer even where the config would quantize it.
  return is_f8(t->dtype);
}

namespace {

// Reads the role tensors "<module>.<role>"; `p` already carries the name and stacked index, so the
// shape checks below see the expert's slice when the tensors are stacked.
ProjectionTensors read_tensors(const st::Checkpoint& ckpt, const std::string& module, ProjectionTensors p,
                               const LayerScheme& scheme) {
  const int32_t family = scheme.scheme.family;
  const char* main = main_role(ckpt, module, family);
  const Roles roles = roles_for(family, main);
  for (const auto* list : {&roles.required, &roles.optional})
    for (const char* role : *list)
      if (ckpt.find(module + "." + role)) p.tensors[role] = module + "." + role;
  for (const char* required : roles.required)
    if (!p.tensors.count(required))
      throw Error(fmt::format("{}: layer '{}': missing tensor '{}.{}' required by {}", ckpt.dir(), module, module,
                              required, scheme.describe()));
  if (family == INCQ_FAMILY_FP8 && !p.tensors.count("weight_scale") && !p.tensors.count("weight_scale_inv"))
    throw Error(fmt::format("{}: layer '{}': missing tensor '{}.weight_scale' (or '.weight_scale_inv') required by {}",
                            ckpt.dir(), module, module, scheme.describe()));
  const st::TensorView view = projection_view(ckpt, p, main);
  const st::TensorView* w = &view;
  if (w->shape.size() != 2)
    throw Error(fmt::format("{}: layer '{}': tensor '{}' has shape {}, expected 2 dimensions", w->file, module, w->name,
                            shape_text(w->shape)));
  if (family == INCQ_FAMILY_INT) {
    try {
      auto [k, n] = quant::infer_kn(w->shape, scheme.scheme.bits, static_cast<incq_packing>(scheme.scheme.packing));
      p.in_features = k;
      p.out_features = n;
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}: layer '{}': tensor '{}' shape {} does not fit {}: {}", w->file, module, w->name,
                              shape_text(w->shape), scheme.describe(), e.what()));
    }
  } else {
    // [N, K] row-major, as the HF weight; two 4-bit codes per byte when packed.
    const bool packed = std::string(main) == "weight_packed";
    p.out_features = w->shape[0];
    p.in_features = packed ? w->shape[1] * 2 : w->shape[1];
  }
  return p;
}

}  // namespace

ProjectionTensors read_projection(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme) {
  ProjectionTensors p;
  p.name = module;
  return read_tensors(ckpt, module, std::move(p), scheme);
}

ProjectionTensors read_stacked_projection(const st::Checkpoint& ckpt, const std::string& stacked_module,
                                          const std::string& name, int64_t expert, const LayerScheme& scheme) {
  ProjectionTensors p;
  p.name = name;
  p.stacked_index = expert;
  return read_tensors(ckpt, stacked_module, std::move(p), scheme);
}

st::TensorView projection_view(const st::Checkpoint& ckpt, const ProjectionTensors& p, const std::string& role) {
  auto it = p.tensors.find(role);
  const st::TensorView* t = it == p.tensors.end() ? nullptr : ckpt.find(it->second);
  if (t == nullptr)
    throw Error(fmt::format("{}: layer '{}': no tensor for role '{}'", ckpt.dir(), p.name, role));
  if (p.stacked_index < 0) return *t;
  const int64_t e = p.stacked_index;
  if (t->shape.empty() || t->shape[0] <= e)
    throw Error(fmt::format("{}: layer '{}': stacked tensor '{}' has shape {}, which holds no expert {}", t->file,
                            p.name, t->name, shape_text(t->shape), e));
  // Row-major with the expert dim outermost: expert e's elements are one contiguous run.
  st::TensorView v = *t;
  v.nbytes = t->nbytes / static_cast<uint64_t>(t->shape[0]);
  v.data = t->data + static_cast<uint64_t>(e) * v.nbytes;
  v.shape.assign(t->shape.begin() + 1, t->shape.end());
  // A per-expert scalar (weight_global_scale [1]) stacked as [E] would slice to a 0-d tensor; the
  // readers expect the per-expert checkpoint's [1].
  if (v.shape.empty()) v.shape = {1};
  return v;
}

incq_tensor projection_tensor(const st::Checkpoint& ckpt, const ProjectionTensors& p, const std::string& role) {
  return projection_view(ckpt, p, role).as_incq_tensor();
}

}  // namespace incq::host
