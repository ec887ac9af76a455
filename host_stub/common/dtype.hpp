// Dtype names as safetensors writes them, mapped to the ABI's incq_dtype.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace incq::host {

// "F32" -> INCQ_DTYPE_F32 ... ; nullopt for names safetensors does not define.
inline std::optional<int32_t> dtype_from_safetensors_name(const std::string& s) {
  static const struct { const char* name; int32_t dtype; } table[] = {
      {"F64", INCQ_DTYPE_F64},   {"F32", INCQ_DTYPE_F32},         {"F16", INCQ_DTYPE_F16},
      {"BF16", INCQ_DTYPE_BF16}, {"I64", INCQ_DTYPE_I64},         {"I32", INCQ_DTYPE_I32},
      {"I16", INCQ_DTYPE_I16},   {"I8", INCQ_DTYPE_I8},           {"U8", INCQ_DTYPE_U8},
      {"U16", INCQ_DTYPE_U16},   {"U32", INCQ_DTYPE_U32},         {"U64", INCQ_DTYPE_U64},
      {"BOOL", INCQ_DTYPE_BOOL}, {"F8_E4M3", INCQ_DTYPE_F8_E4M3}, {"F8_E5M2", INCQ_DTYPE_F8_E5M2},
  };
  for (const auto& e : table)
    if (s == e.name) return e.dtype;
  return std::nullopt;
}

inline std::string dtype_to_safetensors_name(int32_t dtype) { return incq::dtype_name(dtype); }

}  // namespace incq::host
