// What QuantConfig::from_json extracts from the quantization_config object; private to
// host_stub/config.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/name_match.hpp"
#include "config/packing_format.hpp"
#include "config/quant_config.hpp"
#include "config/scheme_fields.hpp"

namespace incq::host {

// One extra_config entry or one GPTQ `dynamic` rule: which layers it names, and its overrides.
struct LayerOverride {
  std::string key;                  // as written in the config
  std::string object_path;          // "quantization_config.extra_config['key']", for messages
  std::optional<std::regex> regex;  // set for regex keys
  bool anchored = false;            // GPTQ dynamic: matched from the start of the name
  bool excludes = false;            // GPTQ dynamic "-:" rule: the layer stays dense
  nlohmann::ordered_json fields;    // the override object
};

struct QuantConfig::Parsed {
  std::string source;
  nlohmann::ordered_json raw_ordered;
  nlohmann::json raw;
  QuantMethod method = QuantMethod::AutoRound;
  SchemeFields global;
  SchemeContext context;
  std::string backend;
  std::string blocks_key;                            // which key gave `blocks`
  std::optional<std::vector<std::string>> blocks;    // name prefixes of the quantized blocks
  std::vector<NamePattern> not_convert;              // modules_to_not_convert
  std::optional<std::vector<NamePattern>> modules_in_block;  // GPTQ modules_in_block_to_quantize
  bool lm_head_quantized = false;                    // GPTQ "lm_head": true
  std::vector<LayerOverride> extra_config;           // in the config's key order
  std::vector<LayerOverride> dynamic;                // in the config's key order
};

}  // namespace incq::host
