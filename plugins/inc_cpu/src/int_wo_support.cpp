#include "int_wo_support.hpp"

#include "enum_names.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

bool is_supported_bits(int32_t bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

bool is_supported_act_dtype(int32_t dtype) {
  return dtype == INCQ_DTYPE_F32 || dtype == INCQ_DTYPE_BF16 || dtype == INCQ_DTYPE_F16;
}

}  // namespace

std::string int_wo_scheme_reason(const LayerSpec& s) {
  if (s.family != INCQ_FAMILY_INT) {
    return "scheme family " + family_name(s.family) + " not supported (INT only)";
  }
  // W4A8 has its own reference implementations; say where, so a refusal here points the user on.
  if (s.act_bits == 8) {
    return "act_bits = 8 (W4A8) runs in inc_cpu.ref.w4a8_int_linear / _moe, not in the weight-only reference";
  }
  if (s.act_bits != 16) {
    return "act_bits = " + str(s.act_bits) + " not supported (weight-only, act_bits = 16)";
  }
  if (!is_supported_bits(s.bits)) return "bits = " + str(s.bits) + " not supported (2, 3, 4, 8)";
  if (s.packing != INCQ_PACKING_GPTQ_V1 && s.packing != INCQ_PACKING_GPTQ_V2 &&
      s.packing != INCQ_PACKING_AWQ) {
    return "packing " + packing_name(s.packing) + " not supported (GPTQ_V1, GPTQ_V2, AWQ)";
  }
  if (s.packing == INCQ_PACKING_AWQ && s.bits != 4) {
    return "AWQ packing is 4-bit only, got bits = " + str(s.bits);
  }
  if (s.group_size == 0 || s.group_size < -1) {
    return "group_size = " + str(s.group_size) + " invalid (-1 or positive)";
  }
  if (!is_supported_act_dtype(s.act_dtype)) {
    return std::string("activation dtype ") + dtype_name(s.act_dtype) +
           " not supported (F32, BF16, F16)";
  }
  return "";
}

std::string int_wo_shape_reason(int32_t bits, int32_t packing, int64_t K, int64_t N) {
  const std::string dims = "K = " + str(K) + ", N = " + str(N);
  if (K <= 0 || N <= 0) return "empty matrix (" + dims + ")";
  if (packing == INCQ_PACKING_AWQ) {
    if (N % 8 != 0) return "AWQ packs 8 columns per word: N must be a multiple of 8 (" + dims + ")";
    return "";
  }
  // GPTQ: qweight [K*bits/32, N] packed along K, qzeros [groups, N*bits/32] packed along N.
  // 2/4/8-bit words hold 32/bits codes; 3-bit packs 32 codes into 3 words.
  const int64_t multiple = bits == 3 ? 32 : 32 / bits;
  if (K % multiple != 0) {
    return "GPTQ " + str(bits) + "-bit qweight packs along K: K must be a multiple of " +
           str(multiple) + " (" + dims + ")";
  }
  if (N % multiple != 0) {
    return "GPTQ " + str(bits) + "-bit qzeros packs along N: N must be a multiple of " +
           str(multiple) + " (" + dims + ")";
  }
  return "";
}

std::string cpu_device_reason(const incq_device* device) {
  if (device == nullptr) return "no device given";
  if (!INCQ_HAS_FIELD(device, incq_device, type)) return "incq_device struct_size lacks 'type'";
  if (device->type != INCQ_DEVICE_CPU) {
    return "device type " + device_type_name(device->type) + " not supported (CPU only)";
  }
  return "";
}

std::string int_wo_linear_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer (this implementation is Linear only)";
  std::string why = int_wo_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (why.empty()) why = int_wo_shape_reason(s.bits, s.packing, s.in_features, s.out_features);
  if (why.empty() && !s.output_partitions.empty()) {
    int64_t sum = 0;
    for (int64_t part : s.output_partitions) {
      if (part <= 0) return "output partition of size " + str(part) + " (must be positive)";
      sum += part;
    }
    if (sum != s.out_features) {
      return "output partitions sum to " + str(sum) + ", out_features is " + str(s.out_features);
    }
  }
  return why;
}

std::string int_wo_moe_reason(const LayerSpec& s, const incq_device* device) {
  if (s.module_kind != INCQ_MODULE_MOE) return "not a MoE layer (this implementation is MoE only)";
  std::string why = int_wo_scheme_reason(s);
  if (why.empty()) why = cpu_device_reason(device);
  if (!why.empty()) return why;
  if (s.num_experts <= 0) return "num_experts = " + str(s.num_experts) + " (must be positive)";
  if (s.top_k <= 0) return "top_k = " + str(s.top_k) + " (must be positive)";
  // gate_proj / up_proj map H -> I (K = H, N = I); down_proj maps I -> H (K = I, N = H).
  why = int_wo_shape_reason(s.bits, s.packing, s.hidden_size, s.intermediate_size);
  if (!why.empty()) return "gate_proj/up_proj [hidden_size -> intermediate_size]: " + why;
  why = int_wo_shape_reason(s.bits, s.packing, s.intermediate_size, s.hidden_size);
  if (!why.empty()) return "down_proj [intermediate_size -> hidden_size]: " + why;
  return "";
}

}  // namespace incq::inc_cpu
