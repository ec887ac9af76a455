// The handful of keys a layer's scheme is built from (bits, group_size, sym, data_type, act_*),
// read from the global quantization_config and overlaid by a per-layer override, then checked
// as a whole and turned into a LayerScheme.
#pragma once

#include <array>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/packing_format.hpp"
#include "config/quant_config.hpp"

namespace incq::host {

// Where a value lives, for messages: "<source>: <object>.<key>: <problem>".
struct ConfigPath {
  std::string source;  // the file (or what the caller named)
  std::string object;  // "quantization_config" or "quantization_config.extra_config['lm_head']"
};

[[noreturn]] void fail_key(const ConfigPath& at, const std::string& key, const std::string& problem);

struct SchemeFields {
  int bits = 0;
  int group_size = -1;
  std::optional<std::array<int, 2>> group_block;  // group_size written as [n, k] (FP8 block)
  bool sym = true;
  std::string data_type = "int";
  int act_bits = 16;
  std::optional<bool> act_dynamic;
  std::optional<std::string> act_data_type;  // default: the weights' data_type
  std::optional<int> act_group_size;         // default: per token for int/fp8, the weight group for MX/NV
  std::optional<bool> act_sym;
};

// Overwrites `fields` with every scheme key present and non-null in `obj`, checking each value's
// type and plain range. Also reads the AWQ spellings w_bit, q_group_size and zero_point
// (sym = !zero_point) when the usual key is absent.
void read_scheme_fields(const nlohmann::ordered_json& obj, const ConfigPath& at, SchemeFields& fields);

// What the whole config decides for every layer alike.
struct SchemeContext {
  PackingFormat packing;
  std::optional<std::array<int, 2>> weight_block_size;  // [block_n, block_k]
};

// Checks the combination (bits for the data type, packing for the family ...) and builds the
// scheme; `at` names the object whose values are used, for messages.
LayerScheme build_layer_scheme(const SchemeFields& fields, const SchemeContext& context,
                               const ConfigPath& at, std::string rule);

LayerScheme dense_layer(std::string rule);

}  // namespace incq::host
