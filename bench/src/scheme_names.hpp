// Short scheme names for problem lists, each standing for the quantization_config a checkpoint of
// that scheme carries. The host's own resolver (QuantConfig) turns it into the layer scheme, so a
// benchmarked layer is planned exactly like one loaded from a real checkpoint.
//
//   int{2,3,4,8}_g{32,64,128,...|ch}[_asym][_v2|_awq]   integer weight-only; GPTQ v1 unless _v2 / _awq;
//                                                       symmetric unless _asym; ch = per channel (-1)
//   w4a8_g{G}                                           int4 sym weights, dynamic per-token int8 x
//   fp8_e4m3_ch, fp8_e4m3_tensor, fp8_e4m3_g128, fp8_e5m2_ch, fp8_block128_w8a8
//   mxfp4, mxfp8 (weight-only), mxfp4_a4, mxfp8_a8, nvfp4_a4, mxint4_a4
//
// Shorthand: "int4_g128" is int4 g128 symmetric GPTQ v1 (auto_round:auto_gptq), issue 5's default.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/quant_config.hpp"

namespace incq::bench {

struct BenchScheme {
  std::string name;
  nlohmann::ordered_json quantization_config;
  host::LayerScheme layer;  // as the host resolves it
};

// Throws incq::host::Error listing the known names when `name` is not one.
BenchScheme resolve_scheme(const std::string& name);

// Names of the fixed (non-integer-grammar) schemes, and a few integer examples, for --help / list.
std::vector<std::string> example_scheme_names();

}  // namespace incq::bench
