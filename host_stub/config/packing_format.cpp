#include "config/packing_format.hpp"

#include "incq/plugin_api.h"

namespace incq::host {

std::optional<QuantMethod> parse_quant_method(const std::string& m) {
  if (m == "auto-round" || m == "intel/auto-round" || m == "auto_round") return QuantMethod::AutoRound;
  if (m == "gptq") return QuantMethod::Gptq;
  if (m == "awq") return QuantMethod::Awq;
  return std::nullopt;
}

std::optional<PackingFormat> normalise_packing_format(const std::string& s) {
  // Facts from AutoRound's loader (auto_round/inference): "auto_round:auto_gptq" stores zero-1
  // (GPTQ v1); "auto_round" and "auto_round:gptqmodel" store the zero itself (v2);
  // "auto_round:gptq" / "auto_round:awq" / "auto" are older spellings it folds into these.
  static const struct { const char* in; const char* name; int32_t packing; } table[] = {
      {"auto_round:auto_gptq", "auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1},
      {"auto_round:gptq", "auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1},
      {"auto_gptq", "auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1},
      {"auto", "auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1},
      {"auto_round", "auto_round", INCQ_PACKING_GPTQ_V2},
      {"auto_round:gptqmodel", "auto_round:gptqmodel", INCQ_PACKING_GPTQ_V2},
      {"auto_round:auto_awq", "auto_round:auto_awq", INCQ_PACKING_AWQ},
      {"auto_round:awq", "auto_round:auto_awq", INCQ_PACKING_AWQ},
      {"auto_awq", "auto_round:auto_awq", INCQ_PACKING_AWQ},
      {"auto_round:fp8", "auto_round:fp8", INCQ_PACKING_FP8},
      {"auto_round:fp8_static", "auto_round:fp8_static", INCQ_PACKING_FP8},
      {"auto_round:llm_compressor", "auto_round:llm_compressor", INCQ_PACKING_LLM_COMPRESSOR},
  };
  for (const auto& e : table)
    if (s == e.in) return PackingFormat{e.name, e.packing, false};
  return std::nullopt;
}

PackingFormat default_packing_format() {
  return PackingFormat{"auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1, true};
}

}  // namespace incq::host
