#include "fp8_support.hpp"

#include "enum_names.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_support.hpp"
#include "output_partitions.hpp"

namespace incq::inc_cpu {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// Activations: weight-only (act_bits 16), or W8A8 with dynamic symmetric e4m3 activations, one
// scale per act_group_size elements of a row (AutoRound's fp8_block export: act_group_size 128).
std::string act_reason(const LayerSpec& s) {
  if (s.act_bits == 16) return "";
  if (s.act_bits != 8) return "act_bits = " + str(s.act_bits) + " not supported (16, or 8 with FP8 activations)";
  if (s.act_family != INCQ_FAMILY_FP8) {
    return "act_bits = 8 with activation family " + family_name(s.act_family) +
           " not supported (FP8 activations only)";
  }
  if (!s.act_dynamic) return "static activation scales not supported (act_dynamic = 0; dynamic only)";
  if (!s.act_sym) return "asymmetric FP8 activations not supported (act_sym = 0)";
  if (s.act_group_size == 0 || s.act_group_size < -1) {
    return "act_group_size = " + str(s.act_group_size) + " invalid (-1 for one scale per row, or positive)";
  }
  return "";
}

}  // namespace

Fp8Format fp8_format_of(const LayerSpec& s) {
  return Fp8Format{s.weight_dtype, s.packing, s.group_size, s.block_n, s.block_k};
}

Fp8ActQuant fp8_act_quant_of(const LayerSpec& s) {
  Fp8ActQuant aq;
  aq.enabled = s.act_bits == 8;
  aq.group = s.act_group_size > 0 ? s.act_group_size : -1;
  return aq;
}

std::string fp8_scheme_reason(const LayerSpec& s) {
  if (s.family != INCQ_FAMILY_FP8) return "scheme family " + family_name(s.family) + " not supported (FP8 only)";
  if (s.bits != 8) return "bits = " + str(s.bits) + " not supported (FP8 is 8-bit)";
  if (s.weight_dtype != INCQ_DTYPE_F8_E4M3 && s.weight_dtype != INCQ_DTYPE_F8_E5M2) {
    return std::string("weight dtype ") + dtype_name(s.weight_dtype) + " not supported (F8_E4M3, F8_E5M2)";
  }
  if (!s.sym) return "asymmetric FP8 weights not supported (FP8 has no zero point)";
  if (s.packing == INCQ_PACKING_FP8) {
    if (s.group_size < -1) return "group_size = " + str(s.group_size) + " invalid (0, -1 or positive)";
  } else if (s.packing == INCQ_PACKING_FP8_BLOCK) {
    if (s.block_n <= 0 || s.block_k <= 0) {
      return "FP8_BLOCK needs a positive block size, got weight_block_size [" + str(s.block_n) + ", " +
             str(s.block_k) + "]";
    }
  } else {
    return "packing " + packing_name(s.packing) + " not supported (FP8, FP8_BLOCK)";
  }
  std::string why = act_reason(s);
  if (!why.empty()) return why;
  if (s.act_dtype != INCQ_DTYPE_F32 && s.act_dtype != INCQ_DTYPE_BF16 && s.act_dtype != INCQ_DTYPE_F16) {
    return std::string("activation dtype ") + dtype_name(s.act_dtype) + " not supported (F32, BF16, F16)";
  }
  return "";
}

std::string fp8_linear_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (this implementation is Linear only)";
  std::string why = fp8_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  if (s.in_features <= 0 || s.out_features <= 0) {
    return "empty matrix (K = " + str(s.in_features) + ", N = " + str(s.out_features) + ")";
  }
  return output_partitions_reason(s);
}

std::string fp8_moe_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer (this implementation is MoE only)";
  std::string why = fp8_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  if (s.num_experts <= 0) return "num_experts = " + str(s.num_experts) + " (must be positive)";
  if (s.top_k <= 0) return "top_k = " + str(s.top_k) + " (must be positive)";
  if (s.hidden_size <= 0 || s.intermediate_size <= 0) {
    return "empty experts (hidden_size = " + str(s.hidden_size) + ", intermediate_size = " +
           str(s.intermediate_size) + ")";
  }
  return "";
}

}  // namespace incq::inc_cpu
