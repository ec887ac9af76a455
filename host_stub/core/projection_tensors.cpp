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

ProjectionTensors read_projection(const st::Checkpoint& ckpt, const std::string& module, const LayerScheme& scheme) {
  const int32_t family = scheme.scheme.family;
  const char* main = main_role(ckpt, module, family);
  const Roles roles = roles_for(family, main);
  ProjectionTensors p;
  p.name = module;
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
  const st::TensorView* w = ckpt.find(p.tensors[main]);
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

}  // namespace incq::host
