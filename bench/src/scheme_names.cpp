#include "scheme_names.hpp"

#include <fmt/format.h>

#include <map>
#include <regex>

#include "common/error.hpp"

namespace incq::bench {

using ojson = nlohmann::ordered_json;

namespace {

// The quantization_config text of each fixed scheme (the forms tests/e2e/test_e2e_schemes.cpp runs).
const std::map<std::string, const char*>& fixed_schemes() {
  static const std::map<std::string, const char*> m = {
      {"fp8_e4m3_ch", R"({"bits": 8, "data_type": "fp", "group_size": -1})"},
      {"fp8_e4m3_tensor", R"({"bits": 8, "data_type": "fp", "group_size": 0})"},
      {"fp8_e4m3_g128", R"({"bits": 8, "data_type": "fp", "group_size": 128})"},
      {"fp8_e5m2_ch", R"({"bits": 8, "data_type": "fp8_e5m2", "group_size": -1})"},
      {"fp8_block128_w8a8", R"({"bits": 8, "data_type": "fp", "group_size": [128, 128],
        "weight_block_size": [128, 128], "packing_format": "auto_round:fp8", "act_bits": 8,
        "act_data_type": "fp", "act_group_size": 128})"},
      {"mxfp4", R"({"bits": 4, "group_size": 32, "data_type": "mx_fp", "packing_format": "auto_round:llm_compressor"})"},
      {"mxfp8", R"({"bits": 8, "group_size": 32, "data_type": "mx_fp", "packing_format": "auto_round:llm_compressor"})"},
      {"mxfp4_a4", R"({"bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4, "act_data_type": "mx_fp",
        "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})"},
      {"mxfp8_a8", R"({"bits": 8, "group_size": 32, "data_type": "mx_fp", "act_bits": 8, "act_data_type": "mx_fp",
        "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})"},
      {"nvfp4_a4", R"({"bits": 4, "group_size": 16, "data_type": "nv_fp", "act_bits": 4,
        "act_data_type": "nv_fp4_with_static_gs", "act_group_size": 16, "packing_format": "auto_round:llm_compressor"})"},
      {"mxint4_a4", R"({"bits": 4, "group_size": 32, "data_type": "mx_int", "act_bits": 4, "act_data_type": "mx_int",
        "act_group_size": 32, "packing_format": "auto_round"})"},
  };
  return m;
}

ojson integer_config(const std::string& name) {
  static const std::regex int_re(R"(^int([2348])_g(\d+|ch)(_asym)?(_v2|_awq)?$)");
  static const std::regex w4a8_re(R"(^w4a8_g(\d+|ch)$)");
  std::smatch m;
  if (std::regex_match(name, m, int_re)) {
    const std::string packing = m.str(4) == "_v2" ? "auto_round" : m.str(4) == "_awq" ? "auto_round:auto_awq"
                                                                                         : "auto_round:auto_gptq";
    return ojson{{"bits", std::stoi(m.str(1))},
                 {"group_size", m.str(2) == "ch" ? -1 : std::stoi(m.str(2))},
                 {"sym", !m[3].matched},
                 {"data_type", "int"},
                 {"packing_format", packing}};
  }
  if (std::regex_match(name, m, w4a8_re)) {
    return ojson{{"bits", 4},       {"group_size", m.str(1) == "ch" ? -1 : std::stoi(m.str(1))},
                 {"sym", true},     {"data_type", "int"},
                 {"act_bits", 8},   {"act_dynamic", true},
                 {"packing_format", "auto_round:auto_gptq"}};
  }
  return nullptr;
}

}  // namespace

BenchScheme resolve_scheme(const std::string& name) {
  BenchScheme s;
  s.name = name;
  s.quantization_config = integer_config(name);
  if (s.quantization_config.is_null()) {
    auto it = fixed_schemes().find(name);
    if (it == fixed_schemes().end()) {
      std::string known;
      for (const auto& n : example_scheme_names()) known += (known.empty() ? "" : ", ") + n;
      throw host::Error(fmt::format("unknown scheme '{}' (known: {}; integers as int{{2,3,4,8}}_g{{G|ch}}[_asym][_v2|_awq])",
                                    name, known));
    }
    s.quantization_config = ojson::parse(it->second);
  }
  s.quantization_config["quant_method"] = "auto-round";
  const auto config = host::QuantConfig::from_json(s.quantization_config, "scheme '" + name + "'");
  s.layer = config.resolve("model.layers.0.mlp.down_proj");
  if (!s.layer.quantized) throw host::Error(fmt::format("scheme '{}' resolves to a dense layer", name));
  return s;
}

std::vector<std::string> example_scheme_names() {
  std::vector<std::string> out = {"int4_g128", "int4_g32", "int4_g128_asym", "int2_g128", "int3_g128", "int8_g128",
                                  "int4_g128_v2", "int4_g128_asym_awq", "w4a8_g128"};
  for (const auto& [n, _] : fixed_schemes()) out.push_back(n);
  return out;
}

}  // namespace incq::bench
