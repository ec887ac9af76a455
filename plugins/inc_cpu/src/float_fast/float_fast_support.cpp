#include "float_fast/float_fast_support.hpp"

#include <algorithm>

#include "float_fast/float_gemm.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

std::string float_fast_reason(const LayerSpec& s) {
  if (!float_fast_cpu_supported()) return "this CPU lacks AVX-512 F/BW/VL/DQ (the fast float kernels need them)";
  const bool moe = s.module_kind == INCQ_MODULE_MOE;
  const int64_t depth = moe ? std::max(s.hidden_size, s.intermediate_size) : s.in_features;
  if (depth > kFloatFastMaxDepth) {
    return std::string(moe ? "hidden/intermediate size " : "K = ") + std::to_string(depth) + " exceeds " +
           std::to_string(kFloatFastMaxDepth) + ", where the declared fp32 tolerance stops holding";
  }
  return "";
}

FastLayerOptions parse_fast_layer_options(const incq_kv* options, size_t num_options, const std::string& layer) {
  const std::string where = "layer '" + layer + "': ";
  if (num_options > 0 && options == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + std::to_string(num_options) + " options announced but the array is NULL");
  }
  FastLayerOptions out;
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = options[i].key != nullptr ? options[i].key : "<NULL>";
    const std::string value = options[i].value != nullptr ? options[i].value : "<NULL>";
    if (key != "compute_type") {
      fail(INCQ_ERR_INVALID_ARGUMENT, where + "unknown option '" + key + "' (the fast kernels take compute_type)");
    }
    if (value == "auto") out.compute_type = FastComputeType::Auto;
    else if (value == "fp32") out.compute_type = FastComputeType::Fp32;
    else if (value == "bf16") out.compute_type = FastComputeType::Bf16;
    else if (value == "int8") out.compute_type = FastComputeType::Int8;
    else fail(INCQ_ERR_INVALID_ARGUMENT, where + "compute_type '" + value + "' is not one of auto, fp32, bf16, int8");
  }
  return out;
}

void refuse_int8_for_float_formats(const FastLayerOptions& o, const std::string& layer) {
  if (o.compute_type == FastComputeType::Int8) {
    fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': compute_type 'int8' is not offered by the float-format "
                                    "kernels (auto, fp32, bf16)");
  }
}

}  // namespace incq::inc_cpu
