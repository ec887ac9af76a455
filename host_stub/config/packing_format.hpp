// quant_method and packing_format strings -> what the tensors look like (DESIGN §4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace incq::host {

enum class QuantMethod { AutoRound, Gptq, Awq };

// "auto-round" (current), "intel/auto-round" (old exports), "auto_round"; "gptq"; "awq".
std::optional<QuantMethod> parse_quant_method(const std::string& quant_method);

struct PackingFormat {
  std::string name;       // normalised, e.g. "auto_round:auto_gptq"
  int32_t packing = 0;    // incq_packing; the FP8 strings give INCQ_PACKING_FP8 (block or not is
                          // decided with weight_block_size when the family is known)
  bool defaulted = false; // packing_format was absent and AutoRound's default applies
};

// AutoRound packing_format strings, aliases folded; nullopt for an unknown string.
std::optional<PackingFormat> normalise_packing_format(const std::string& packing_format);

// What AutoRound assumes when packing_format is absent: "auto_round:auto_gptq" (GPTQ v1).
PackingFormat default_packing_format();

}  // namespace incq::host
