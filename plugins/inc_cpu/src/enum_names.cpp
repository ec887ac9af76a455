#include "enum_names.hpp"

#include "incq/plugin_api.h"

namespace incq::inc_cpu {

std::string family_name(int32_t family) {
  switch (family) {
    case INCQ_FAMILY_DENSE: return "DENSE";
    case INCQ_FAMILY_INT: return "INT";
    case INCQ_FAMILY_FP8: return "FP8";
    case INCQ_FAMILY_MX_FP: return "MX_FP";
    case INCQ_FAMILY_NV_FP: return "NV_FP";
    case INCQ_FAMILY_MX_INT: return "MX_INT";
    default: return "unknown(" + std::to_string(family) + ")";
  }
}

std::string packing_name(int32_t packing) {
  switch (packing) {
    case INCQ_PACKING_NONE: return "NONE";
    case INCQ_PACKING_GPTQ_V1: return "GPTQ_V1";
    case INCQ_PACKING_GPTQ_V2: return "GPTQ_V2";
    case INCQ_PACKING_AWQ: return "AWQ";
    case INCQ_PACKING_FP8: return "FP8";
    case INCQ_PACKING_FP8_BLOCK: return "FP8_BLOCK";
    case INCQ_PACKING_LLM_COMPRESSOR: return "LLM_COMPRESSOR";
    default: return "unknown(" + std::to_string(packing) + ")";
  }
}

std::string device_type_name(int32_t device_type) {
  switch (device_type) {
    case INCQ_DEVICE_CPU: return "CPU";
    case INCQ_DEVICE_OPENCL: return "OPENCL";
    default: return "unknown(" + std::to_string(device_type) + ")";
  }
}

}  // namespace incq::inc_cpu
