// Short lowercase names of the ABI's enum values, for messages, `incq inspect` and JSON.
#pragma once

#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::host {

inline const char* module_kind_name(int32_t kind) {
  switch (kind) {
    case INCQ_MODULE_LINEAR: return "linear";
    case INCQ_MODULE_MOE: return "moe";
    default: return "?";
  }
}

inline const char* family_name(int32_t family) {
  switch (family) {
    case INCQ_FAMILY_DENSE: return "dense";
    case INCQ_FAMILY_INT: return "int";
    case INCQ_FAMILY_FP8: return "fp8";
    case INCQ_FAMILY_MX_FP: return "mx_fp";
    case INCQ_FAMILY_NV_FP: return "nv_fp";
    case INCQ_FAMILY_MX_INT: return "mx_int";
    default: return "?";
  }
}

inline const char* packing_name(int32_t packing) {
  switch (packing) {
    case INCQ_PACKING_NONE: return "none";
    case INCQ_PACKING_GPTQ_V1: return "gptq_v1";
    case INCQ_PACKING_GPTQ_V2: return "gptq_v2";
    case INCQ_PACKING_AWQ: return "awq";
    case INCQ_PACKING_FP8: return "fp8";
    case INCQ_PACKING_FP8_BLOCK: return "fp8_block";
    case INCQ_PACKING_LLM_COMPRESSOR: return "llm_compressor";
    default: return "?";
  }
}

inline const char* device_type_name(int32_t type) {
  switch (type) {
    case INCQ_DEVICE_CPU: return "cpu";
    case INCQ_DEVICE_OPENCL: return "opencl";
    default: return "?";
  }
}

}  // namespace incq::host
