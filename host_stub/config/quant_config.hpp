// The INC / AutoRound `quantization_config` of a checkpoint, and the scheme each layer resolves to
// (DESIGN §4 "Per-layer resolution"). The host, not a plugin, does this: plugins only ever see
// the resolved incq_scheme.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"  // the exception every entry below throws
#include "incq/plugin_api.h"

namespace incq::host {

// What one layer resolves to.
struct LayerScheme {
  bool quantized = false;  // false: the layer stays dense
  // struct_size set. family, bits, group_size (-1 = whole K; FP8: 0 = per tensor, AutoRound's
  // convention), sym, packing, act_bits (16 = weight-only), act_dynamic, weight_dtype (FP8: F8_E4M3
  // or F8_E5M2; MX/NV fp: F8_E4M3 for 8-bit elements, U8 for packed 4-bit E2M1), block_n/block_k
  // (FP8 block scales). has_g_idx is always 0 here: the host sets it from the tensors.
  incq_scheme scheme{};
  std::string data_type;       // as configured: "int", "fp", "mx_fp", "nv_fp", ...
  std::string packing_format;  // normalised, e.g. "auto_round:auto_gptq"
  std::string rule;            // which rule decided, for messages and `incq inspect`

  // Equal when a fused module could be built from both: dense == dense; otherwise every scheme
  // field a kernel depends on. `data_type`, `packing_format` and `rule` are not compared (two
  // strings that mean the same layout, e.g. "auto_round" and "auto_round:gptqmodel", are equal).
  bool operator==(const LayerScheme& other) const;
  bool operator!=(const LayerScheme& other) const { return !(*this == other); }
  // e.g. "int4 g128 sym gptq_v1 (auto_round:auto_gptq)" or "dense".
  std::string describe() const;
};

class QuantConfig {
 public:
  // Reads <dir>/config.json ("quantization_config" object) or else <dir>/quantization_config.json
  // (the object itself). Files are parsed keeping key order (see from_json on why it matters).
  static QuantConfig from_model_dir(const std::string& dir);

  // Validates everything that matters up front (every extra_config / dynamic entry included), so
  // resolve() never fails later. Throws incq::host::Error naming `source`, the key and the value.
  // Key order matters for regex keys (first match wins): the ordered_json overload keeps the
  // config's order; the nlohmann::json overload sees keys sorted by name, as that type stores them.
  static QuantConfig from_json(const nlohmann::ordered_json& quantization_config,
                               const std::string& source);
  static QuantConfig from_json(const nlohmann::json& quantization_config, const std::string& source);

  // The scheme of one Linear/MoE module, by its full dotted name ("model.layers.0.self_attn.q_proj").
  LayerScheme resolve(const std::string& layer_name) const;

  // Fused modules must resolve to one scheme: {q,k,v}_proj of one parent, {gate,up}_proj of one
  // parent (outside experts), and every projection of "<prefix>.experts.<e>.<proj>" of one MoE.
  // Throws incq::host::Error naming the fused module, its parts and their schemes.
  void check_fused(const std::vector<std::string>& layer_names) const;

  // quantization_config.backend when it is a backend preference ("auto", "inc_cpu", "ark", ...);
  // empty when absent or when an old "intel/auto-round" export used it for the packing format.
  std::string backend() const;
  const std::string& source() const;
  const nlohmann::json& raw() const;                  // the quantization_config object as given
  const nlohmann::ordered_json& raw_ordered() const;  // the same, in the key order resolve() uses

  struct Parsed;  // everything from_json extracted; defined in quant_config_parsed.hpp

 private:
  explicit QuantConfig(std::shared_ptr<const Parsed> parsed) : parsed_(std::move(parsed)) {}
  std::shared_ptr<const Parsed> parsed_;
};

}  // namespace incq::host
