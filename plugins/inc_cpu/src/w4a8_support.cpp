#include "w4a8_support.hpp"

#include "enum_names.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_support.hpp"
#include "output_partitions.hpp"

namespace incq::inc_cpu {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

IntWoFormat w4a8_format_of(const LayerSpec& s) { return IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}; }

std::string w4a8_scheme_reason(const LayerSpec& s) {
  if (s.family != INCQ_FAMILY_INT) return "scheme family " + family_name(s.family) + " not supported (INT only)";
  if (s.bits != 4) return "bits = " + str(s.bits) + " not supported (W4A8 takes 4-bit weights)";
  if (!s.sym) return "asymmetric weights not supported (W4A8 takes symmetric int4: zero = 8)";
  if (s.packing != INCQ_PACKING_GPTQ_V1 && s.packing != INCQ_PACKING_GPTQ_V2) {
    return "packing " + packing_name(s.packing) + " not supported (GPTQ_V1, GPTQ_V2)";
  }
  if (s.group_size == -1) {
    return "group_size = -1 not supported (W4A8 needs a positive group size; vLLM's XPU W4A8 keeps scales "
           "[K / group_size, N])";
  }
  if (s.group_size <= 0 || s.group_size % 32 != 0) {
    return "group_size = " + str(s.group_size) + " not supported (a positive multiple of 32)";
  }
  if (s.act_bits == 8) {
    if (s.act_family != INCQ_FAMILY_INT) {
      return "act_bits = 8 with activation family " + family_name(s.act_family) + " not supported (INT only)";
    }
    if (!s.act_dynamic) return "static activation scales not supported (act_dynamic = 0; dynamic per token only)";
    if (!s.act_sym) return "asymmetric int8 activations not supported (act_sym = 0)";
    if (s.act_group_size != -1) {
      return "act_group_size = " + str(s.act_group_size) + " not supported (per token: -1)";
    }
  } else {
    // A weight-only layer never lands here by itself: W4A8 quantizes activations, which the
    // layer's scheme does not say. The user opts in per layer with the host's act_quant setting
    // (--act-quant int8), which makes the scheme W4A8 for the oracle and every implementation.
    return "act_bits = " + str(s.act_bits) + " not supported (W4A8 runs layers whose scheme quantizes activations "
           "to int8: act_bits 8; for a W4A16 checkpoint select it with the host's act_quant int8 / --act-quant int8)";
  }
  if (s.act_dtype != INCQ_DTYPE_F32 && s.act_dtype != INCQ_DTYPE_BF16 && s.act_dtype != INCQ_DTYPE_F16) {
    return std::string("activation dtype ") + dtype_name(s.act_dtype) + " not supported (F32, BF16, F16)";
  }
  return "";
}

std::string w4a8_shape_reason(int64_t K, int64_t N, int32_t group_size) {
  const std::string dims = "K = " + str(K) + ", N = " + str(N);
  if (K <= 0 || N <= 0) return "empty matrix (" + dims + ")";
  if (K % 8 != 0 || N % 8 != 0) return "in and out sizes must be multiples of 8 (" + dims + ")";
  if (K % group_size != 0) {
    return "group_size " + str(group_size) + " must divide K (" + dims + "; scales are [K / group_size, N])";
  }
  return "";
}

std::string w4a8_linear_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (this implementation is Linear only)";
  std::string why = w4a8_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (why.empty()) why = w4a8_shape_reason(s.in_features, s.out_features, s.group_size);
  if (why.empty()) why = output_partitions_reason(s);
  return why;
}

std::string w4a8_moe_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer (this implementation is MoE only)";
  std::string why = w4a8_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  if (s.num_experts <= 0) return "num_experts = " + str(s.num_experts) + " (must be positive)";
  if (s.top_k <= 0) return "top_k = " + str(s.top_k) + " (must be positive)";
  why = w4a8_shape_reason(s.hidden_size, s.intermediate_size, s.group_size);
  if (!why.empty()) return "gate_proj/up_proj [hidden_size -> intermediate_size]: " + why;
  why = w4a8_shape_reason(s.intermediate_size, s.hidden_size, s.group_size);
  if (!why.empty()) return "down_proj [intermediate_size -> hidden_size]: " + why;
  return "";
}

void check_w4a8_groups(const IntWoMatrix& w, const std::string& layer, const std::string& prefix) {
  for (size_t k = 0; k < w.g_idx.size(); ++k) {
    const int64_t expected = static_cast<int64_t>(k) / w.group_size;
    if (w.g_idx[k] != expected) {
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + prefix + "g_idx' [" + std::to_string(k) +
                                          "] = " + std::to_string(w.g_idx[k]) + ", but W4A8 needs contiguous groups (" +
                                          std::to_string(expected) + "): act-order checkpoints are not supported");
    }
  }
}

}  // namespace incq::inc_cpu
