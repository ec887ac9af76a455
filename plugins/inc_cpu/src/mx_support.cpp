#include "mx_support.hpp"

#include "enum_names.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_support.hpp"

namespace incq::inc_cpu {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// Scheme-level limits, any shape.
std::string scheme_reason(int32_t family, const LayerSpec& s) {
  if (s.family != family) {
    return "scheme family " + family_name(s.family) + " not supported (this implementation serves " +
           family_name(family) + ")";
  }
  MxFormat f;
  std::string why;
  if (!mx_format_of(s.family, s.bits, &f, &why)) return why;
  if (s.packing != INCQ_PACKING_LLM_COMPRESSOR) {
    return "packing " + packing_name(s.packing) + " not supported (" + f.name() +
           " tensors are read in the LLM_COMPRESSOR layout)";
  }
  if (s.group_size != f.group) {
    return "group_size = " + str(s.group_size) + " not supported (" + f.name() + " has one scale per " +
           str(f.group) + " elements)";
  }
  const int32_t want = f.kind == MxKind::MxFp8 ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8;
  if (s.weight_dtype != want) {
    return std::string("weight dtype ") + dtype_name(s.weight_dtype) + " not supported (" + f.name() + " stores " +
           dtype_name(want) + ")";
  }
  if (!s.sym) return "asymmetric " + f.name() + " does not exist (sym = 0)";
  ActQuant q;
  if (!act_quant_of(s.act_family, s.act_bits, s.act_group_size, &q, &why)) return why;
  if (s.act_bits < 16 && !s.act_sym) return "asymmetric activation quantization not supported (act_sym = 0)";
  if (s.act_dtype != INCQ_DTYPE_F32 && s.act_dtype != INCQ_DTYPE_BF16 && s.act_dtype != INCQ_DTYPE_F16) {
    return std::string("activation dtype ") + dtype_name(s.act_dtype) + " not supported (F32, BF16, F16)";
  }
  return "";
}

std::string shape_reason(const MxFormat& f, int64_t K, int64_t N) {
  const std::string dims = "K = " + str(K) + ", N = " + str(N);
  if (K <= 0 || N <= 0) return "empty matrix (" + dims + ")";
  if (K % f.group != 0) {
    return f.name() + " scales blocks of " + str(f.group) + " along K: K must be a multiple of " + str(f.group) +
           " (" + dims + ")";
  }
  return "";
}

}  // namespace

MxFormat mx_format_of_spec(const LayerSpec& s) {
  MxFormat f;
  std::string why;
  if (!mx_format_of(s.family, s.bits, &f, &why)) fail(INCQ_ERR_UNSUPPORTED, "layer '" + s.name + "': " + why);
  return f;
}

ActQuant act_quant_of_spec(const LayerSpec& s) {
  ActQuant q;
  std::string why;
  if (!act_quant_of(s.act_family, s.act_bits, s.act_group_size, &q, &why)) {
    fail(INCQ_ERR_UNSUPPORTED, "layer '" + s.name + "': " + why);
  }
  return q;
}

std::string mx_linear_reason(int32_t family, const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (this implementation is Linear only)";
  std::string why = scheme_reason(family, s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  why = shape_reason(mx_format_of_spec(s), s.in_features, s.out_features);
  if (!why.empty()) return why;
  if (!s.output_partitions.empty()) {
    int64_t sum = 0;
    for (int64_t part : s.output_partitions) {
      if (part <= 0) return "output partition of size " + str(part) + " (must be positive)";
      sum += part;
    }
    if (sum != s.out_features) return "output partitions sum to " + str(sum) + ", out_features is " + str(s.out_features);
  }
  return "";
}

std::string mx_moe_reason(int32_t family, const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer (this implementation is MoE only)";
  std::string why = scheme_reason(family, s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  if (s.num_experts <= 0) return "num_experts = " + str(s.num_experts) + " (must be positive)";
  if (s.top_k <= 0) return "top_k = " + str(s.top_k) + " (must be positive)";
  const MxFormat f = mx_format_of_spec(s);
  why = shape_reason(f, s.hidden_size, s.intermediate_size);
  if (!why.empty()) return "gate_proj/up_proj [hidden_size -> intermediate_size]: " + why;
  why = shape_reason(f, s.intermediate_size, s.hidden_size);
  if (!why.empty()) return "down_proj [intermediate_size -> hidden_size]: " + why;
  return "";
}

}  // namespace incq::inc_cpu
