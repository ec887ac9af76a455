// quantization_config -> per-layer scheme (host_stub/config). Expected schemes are written by hand
// from the format facts of DESIGN §4, never computed by the code under test.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "config/quant_config.hpp"

namespace {

using incq::host::Error;
using incq::host::LayerScheme;
using incq::host::QuantConfig;
using ::testing::HasSubstr;
using ojson = nlohmann::ordered_json;

QuantConfig config(const std::string& json_text) {
  return QuantConfig::from_json(ojson::parse(json_text), "test.json");
}

// The message of the Error that `fn` throws; fails the test when it throws nothing or another type.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-Error exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

// ------------------------------------------------------------------ resolve, table-driven

struct Want {
  int family;  // INCQ_FAMILY_DENSE: the layer stays dense, the other fields are not checked
  int bits;
  int group_size;
  int sym;
  int packing;
  const char* packing_format;
  int act_bits = 16;
  int act_dynamic = 0;
  int weight_dtype = 0;
  int block_n = 0;
  int block_k = 0;
};

const Want kDense{INCQ_FAMILY_DENSE, 0, 0, 0, 0, ""};

struct ResolveCase {
  const char* what;
  const char* config;
  const char* layer;
  Want want;
  const char* rule_has;  // a piece of LayerScheme::rule
};

// A typical AutoRound W4G128 export: GPTQ v1 packing (no packing_format), 16-bit k_proj.
const char* kW4WithDenseKProj = R"({
  "quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true, "data_type": "int",
  "autoround_version": "0.6.0", "iters": 200, "nsamples": 128, "seqlen": 2048, "lr": 0.005,
  "extra_config": {"model.layers.0.self_attn.k_proj": {"bits": 16}}})";

const char* kSuffixKeys = R"({
  "quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true,
  "extra_config": {"k_proj": {"bits": 8}, "self_attn.k_proj": {"bits": 2}, "proj": {"bits": 3},
                   "lm_head": {"bits": 8}}})";

const char* kRegexKeys = R"({
  "quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true,
  "extra_config": {
    "mlp\\.down_proj": {"bits": 8},
    ".*down_proj": {"bits": 2},
    "layers\\.1\\.": {"group_size": 32},
    "model.layers.2.mlp.down_proj": {"bits": 3}}})";

const char* kBlocks = R"({
  "quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": false,
  "block_name_to_quantize": "model.layers",
  "extra_config": {"lm_head": {"bits": 8, "group_size": 32},
                   "visual\\..*\\.qkv": {"group_size": 64},
                   "visual\\..*\\.proj": {"bits": 8}}})";

const char* kGptqDynamic = R"({
  "quant_method": "gptq", "bits": 4, "group_size": 128, "sym": true, "desc_act": true,
  "static_groups": false, "true_sequential": true, "damp_percent": 0.01, "lm_head": true,
  "checkpoint_format": "gptq",
  "dynamic": {"-:model\\.layers\\.1\\.": {}, "+:model\\.layers\\.0\\.mlp": {"bits": 8},
              "layers\\.2\\.": {"bits": 2}}})";

const ResolveCase kResolveCases[] = {
    // Global W4 g128 with a 16-bit k_proj; no packing_format means auto_round:auto_gptq (v1).
    {"global scheme", kW4WithDenseKProj, "model.layers.0.self_attn.q_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
     "global quantization_config"},
    {"16-bit override", kW4WithDenseKProj, "model.layers.0.self_attn.k_proj", kDense, "bits=16 -> dense"},
    {"other layer's k_proj", kW4WithDenseKProj, "model.layers.1.self_attn.k_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "global"},

    // Dotted suffixes: the longest naming key wins; "proj" names no layer (not a component).
    {"longest suffix", kSuffixKeys, "model.layers.3.self_attn.k_proj",
     {INCQ_FAMILY_INT, 2, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
     "extra_config key 'self_attn.k_proj' (dotted suffix)"},
    {"short suffix", kSuffixKeys, "model.layers.3.cross_attn.k_proj",
     {INCQ_FAMILY_INT, 8, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "'k_proj' (dotted suffix)"},
    {"partial component", kSuffixKeys, "model.layers.3.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "global"},
    {"lm_head suffix", kSuffixKeys, "model.lm_head",
     {INCQ_FAMILY_INT, 8, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "'lm_head' (dotted suffix)"},

    // Regex keys: unanchored search, first in config order wins, exact names first.
    {"first regex wins", kRegexKeys, "model.layers.5.mlp.down_proj",
     {INCQ_FAMILY_INT, 8, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "'mlp\\.down_proj' (regex)"},
    {"exact beats regex", kRegexKeys, "model.layers.2.mlp.down_proj",
     {INCQ_FAMILY_INT, 3, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "(exact name)"},
    {"unanchored regex", kRegexKeys, "model.layers.1.self_attn.o_proj",
     {INCQ_FAMILY_INT, 4, 32, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "(regex)"},
    {"regex no match", kRegexKeys, "model.layers.11.self_attn.o_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "global"},

    // block_name_to_quantize: outside stays dense unless extra_config names the layer.
    {"inside blocks", kBlocks, "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 0, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "global"},
    {"quantized lm_head outside blocks", kBlocks, "lm_head",
     {INCQ_FAMILY_INT, 8, 32, 0, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
     "'lm_head' (exact name), though outside block_name_to_quantize"},
    {"outside blocks", kBlocks, "model.mm_projector.linear_1", kDense, "outside block_name_to_quantize"},
    {"regex without bits outside", kBlocks, "visual.blocks.0.attn.qkv", kDense, "sets no bits"},
    {"regex with bits outside", kBlocks, "visual.blocks.0.attn.proj",
     {INCQ_FAMILY_INT, 8, 128, 0, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "(regex)"},

    // GPTQ exports: dynamic rules (anchored at the start, first wins), lm_head flag.
    {"gptq global", kGptqDynamic, "model.layers.3.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "gptq"}, "global"},
    {"gptq dynamic minus", kGptqDynamic, "model.layers.1.mlp.up_proj", kDense, "'-:model\\.layers\\.1\\.' excludes"},
    {"gptq dynamic plus", kGptqDynamic, "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_INT, 8, 128, 1, INCQ_PACKING_GPTQ_V1, "gptq"}, "dynamic key '+:model"},
    {"gptq dynamic is anchored", kGptqDynamic, "model.layers.2.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "gptq"}, "global"},
    {"gptq lm_head true", kGptqDynamic, "lm_head",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "gptq"}, "global"},
    {"gptq_v2", R"({"quant_method": "gptq", "bits": 8, "group_size": -1, "sym": false,
                    "checkpoint_format": "gptq_v2"})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 8, -1, 0, INCQ_PACKING_GPTQ_V2, "gptq_v2"}, "global"},
    {"gptq lm_head default", R"({"quant_method": "gptq", "bits": 4, "group_size": 128})", "lm_head",
     kDense, "lm_head"},
    {"gptq modules_in_block_to_quantize", R"({"quant_method": "gptq", "bits": 4, "group_size": 128,
        "modules_in_block_to_quantize": [["self_attn.q_proj", "self_attn.k_proj"], ["mlp.up_proj"]]})",
     "model.layers.0.mlp.down_proj", kDense, "not in modules_in_block_to_quantize"},

    // AWQ: zero_point true (its default) is asymmetric; older key spellings.
    {"awq", R"({"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": true,
                "version": "gemm", "modules_to_not_convert": ["visual"]})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 4, 128, 0, INCQ_PACKING_AWQ, "awq"}, "global"},
    {"awq modules_to_not_convert", R"({"quant_method": "awq", "bits": 4, "group_size": 128,
        "modules_to_not_convert": ["visual"]})",
     "visual.blocks.0.attn.qkv", kDense, "modules_to_not_convert entry 'visual'"},
    {"awq old keys", R"({"quant_method": "awq", "w_bit": 4, "q_group_size": 64, "zero_point": false})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 4, 64, 1, INCQ_PACKING_AWQ, "awq"}, "global"},

    // modules_to_not_convert matches whole components: "mlp.gate" is not "mlp.gate_proj".
    {"not_convert router", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "modules_to_not_convert": ["mlp.gate"]})",
     "model.layers.0.mlp.gate", kDense, "modules_to_not_convert entry 'mlp.gate'"},
    {"not_convert is not a substring", R"({"quant_method": "auto-round", "bits": 4,
        "group_size": 128, "modules_to_not_convert": ["mlp.gate"]})",
     "model.layers.0.mlp.gate_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"}, "global"},

    // Old intel/auto-round exports keep the packing format in `backend`.
    {"old export gptq", R"({"quant_method": "intel/auto-round", "bits": 4, "group_size": 128,
        "sym": true, "backend": "auto_round:gptq"})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
     "global"},
    {"old export awq", R"({"quant_method": "intel/auto-round", "bits": 4, "group_size": 128,
        "sym": false, "backend": "auto_round:awq"})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 4, 128, 0, INCQ_PACKING_AWQ, "auto_round:auto_awq"},
     "global"},

    // W4A8: int4 weights, int8 activations quantized per token at run time.
    {"w4a8", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true,
        "act_bits": 8, "act_dynamic": true, "act_data_type": "int", "packing_format": "auto_round"})",
     "model.layers.0.mlp.up_proj", {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V2, "auto_round", 8, 1},
     "global"},
    {"w4a8 default dynamic", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "act_bits": 8})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq", 8, 1}, "global"},
    {"act_bits 32 is weight-only", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "act_bits": 32, "act_dynamic": true})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_INT, 4, 128, 1, INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq", 16, 0}, "global"},

    // FP8 and the MX / NV float families.
    {"fp8 block", R"({"quant_method": "auto-round", "bits": 8, "group_size": -1, "data_type": "fp",
        "packing_format": "auto_round:fp8", "weight_block_size": [128, 64]})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_FP8, 8, 64, 1, INCQ_PACKING_FP8_BLOCK, "auto_round:fp8", 16, 0, INCQ_DTYPE_F8_E4M3, 128, 64},
     "global"},
    {"fp8 per channel", R"({"quant_method": "auto-round", "bits": 8, "group_size": -1,
        "data_type": "fp", "packing_format": "auto_round:fp8"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_FP8, 8, -1, 1, INCQ_PACKING_FP8, "auto_round:fp8", 16, 0, INCQ_DTYPE_F8_E4M3}, "global"},
    {"fp8 static per tensor", R"({"quant_method": "auto-round", "bits": 8, "group_size": 0,
        "data_type": "fp8_e5m2", "act_bits": 8, "act_dynamic": false,
        "packing_format": "auto_round:fp8_static"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_FP8, 8, 0, 1, INCQ_PACKING_FP8, "auto_round:fp8_static", 8, 0, INCQ_DTYPE_F8_E5M2},
     "global"},
    {"mxfp4", R"({"quant_method": "auto-round", "bits": 4, "group_size": 32, "data_type": "mx_fp",
        "act_bits": 4, "act_data_type": "mx_fp_rceil", "act_dynamic": true,
        "packing_format": "auto_round:llm_compressor"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_MX_FP, 4, 32, 1, INCQ_PACKING_LLM_COMPRESSOR, "auto_round:llm_compressor", 4, 1,
      INCQ_DTYPE_U8},
     "global"},
    {"mxfp8", R"({"quant_method": "auto-round", "bits": 8, "group_size": 32, "data_type": "mx_fp",
        "packing_format": "auto_round:llm_compressor"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_MX_FP, 8, 32, 1, INCQ_PACKING_LLM_COMPRESSOR, "auto_round:llm_compressor", 16, 0,
      INCQ_DTYPE_F8_E4M3},
     "global"},
    {"nvfp4", R"({"quant_method": "auto-round", "bits": 4, "group_size": 16, "data_type": "nv_fp",
        "packing_format": "auto_round:llm_compressor"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_NV_FP, 4, 16, 1, INCQ_PACKING_LLM_COMPRESSOR, "auto_round:llm_compressor", 16, 0,
      INCQ_DTYPE_U8},
     "global"},
    // AutoRound writes MXINT4 under "auto_round" with MX tensors (weight_packed, weight_scale).
    {"mxint4 under auto_round has the MX tensor layout", R"({"quant_method": "auto-round", "bits": 4,
        "group_size": 32, "sym": true, "data_type": "mx_int", "packing_format": "auto_round"})",
     "model.layers.0.mlp.up_proj",
     {INCQ_FAMILY_MX_INT, 4, 32, 1, INCQ_PACKING_LLM_COMPRESSOR, "auto_round", 16, 0, INCQ_DTYPE_U8},
     "global"},

    // Dense by data type or bits.
    {"fp16 bits", R"({"quant_method": "auto-round", "bits": 16, "group_size": 128, "data_type": "fp"})",
     "model.layers.0.mlp.up_proj", kDense, "bits=16 -> dense"},
    {"bf16 override", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "extra_config": {"mlp.gate": {"data_type": "bf16"}}})",
     "model.layers.0.mlp.gate", kDense, "data_type 'bf16' -> dense"},
};

void PrintTo(const ResolveCase& c, std::ostream* os) { *os << c.what << " / " << c.layer; }

class Resolve : public ::testing::TestWithParam<ResolveCase> {};

TEST_P(Resolve, GivesTheExpectedScheme) {
  const ResolveCase& c = GetParam();
  const LayerScheme s = config(c.config).resolve(c.layer);
  EXPECT_THAT(s.rule, HasSubstr(c.rule_has));
  EXPECT_EQ(s.scheme.struct_size, sizeof(incq_scheme));
  if (c.want.family == INCQ_FAMILY_DENSE) {
    EXPECT_FALSE(s.quantized) << s.describe();
    EXPECT_EQ(s.scheme.family, INCQ_FAMILY_DENSE);
    EXPECT_EQ(s.describe(), "dense");
    return;
  }
  ASSERT_TRUE(s.quantized) << s.rule;
  EXPECT_EQ(s.scheme.family, c.want.family);
  EXPECT_EQ(s.scheme.bits, c.want.bits);
  EXPECT_EQ(s.scheme.group_size, c.want.group_size);
  EXPECT_EQ(s.scheme.sym, c.want.sym);
  EXPECT_EQ(s.scheme.packing, c.want.packing);
  EXPECT_EQ(s.packing_format, c.want.packing_format);
  EXPECT_EQ(s.scheme.act_bits, c.want.act_bits);
  EXPECT_EQ(s.scheme.act_dynamic, c.want.act_dynamic);
  EXPECT_EQ(s.scheme.weight_dtype, c.want.weight_dtype);
  EXPECT_EQ(s.scheme.block_n, c.want.block_n);
  EXPECT_EQ(s.scheme.block_k, c.want.block_k);
  EXPECT_EQ(s.scheme.has_g_idx, 0);
}

std::string case_name(const ::testing::TestParamInfo<ResolveCase>& info) {
  std::string n;
  for (const char* p = info.param.what; *p; ++p) n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, Resolve, ::testing::ValuesIn(kResolveCases), case_name);

// ------------------------------------------------------------------ packing_format strings

struct PackingCase {
  const char* written;
  int packing;
  const char* normalised;
};

TEST(PackingFormat, EveryIntStringMapsToItsLayout) {
  const PackingCase cases[] = {
      {"auto_round:auto_gptq", INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
      {"auto_round:gptq", INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
      {"auto_gptq", INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
      {"auto", INCQ_PACKING_GPTQ_V1, "auto_round:auto_gptq"},
      {"auto_round", INCQ_PACKING_GPTQ_V2, "auto_round"},
      {"auto_round:gptqmodel", INCQ_PACKING_GPTQ_V2, "auto_round:gptqmodel"},
      {"auto_round:auto_awq", INCQ_PACKING_AWQ, "auto_round:auto_awq"},
      {"auto_round:awq", INCQ_PACKING_AWQ, "auto_round:auto_awq"},
      {"auto_awq", INCQ_PACKING_AWQ, "auto_round:auto_awq"},
  };
  for (const auto& c : cases) {
    const auto cfg = config(std::string(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "packing_format": ")") + c.written + "\"}");
    const LayerScheme s = cfg.resolve("model.layers.0.mlp.up_proj");
    EXPECT_EQ(s.scheme.packing, c.packing) << c.written;
    EXPECT_EQ(s.packing_format, c.normalised) << c.written;
    EXPECT_EQ(s.scheme.family, INCQ_FAMILY_INT) << c.written;
  }
}

TEST(PackingFormat, FloatStringsNeedFloatDataTypes) {
  // fp8 / fp8_static / llm_compressor name layouts integer weights never have.
  for (const char* p : {"auto_round:fp8", "auto_round:fp8_static", "auto_round:llm_compressor"}) {
    const std::string text = std::string(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
        "data_type": "int", "packing_format": ")") + p + "\"}";
    const std::string msg = error_of([&] { config(text); });
    EXPECT_THAT(msg, HasSubstr("data_type 'int' cannot be stored with packing_format")) << p;
    EXPECT_THAT(msg, HasSubstr(p));
  }
  // FP8 with a GPTQ packing string is just as wrong.
  EXPECT_THAT(error_of([] {
                config(R"({"quant_method": "auto-round", "bits": 8, "group_size": -1, "data_type": "fp",
                           "packing_format": "auto_round:auto_gptq"})");
              }),
              HasSubstr("data_type 'fp' cannot be stored with packing_format 'auto_round:auto_gptq'"));
}

// ------------------------------------------------------------------ key order, backend, raw

TEST(KeyOrder, OrderedJsonKeepsTheConfigOrderPlainJsonSortsKeys) {
  const char* text = R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "extra_config": {"mlp\\.down_proj": {"bits": 8}, "\\.down_proj": {"bits": 2}}})";
  const std::string layer = "model.layers.0.mlp.down_proj";
  // Config order: "mlp\.down_proj" comes first.
  EXPECT_EQ(QuantConfig::from_json(ojson::parse(text), "t").resolve(layer).scheme.bits, 8);
  // nlohmann::json sorts keys: "\\.down_proj" ('\' < 'm') comes first.
  EXPECT_EQ(QuantConfig::from_json(nlohmann::json::parse(text), "t").resolve(layer).scheme.bits, 2);
}

TEST(Backend, PlainNameIsAPreferencePackingNameIsNot) {
  EXPECT_EQ(config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
                       "packing_format": "auto_round", "backend": "inc_cpu"})").backend(), "inc_cpu");
  EXPECT_EQ(config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
                       "backend": "auto"})").backend(), "auto");
  EXPECT_EQ(config(R"({"quant_method": "intel/auto-round", "bits": 4, "group_size": 128,
                       "backend": "auto_round:gptq"})").backend(), "");
  EXPECT_EQ(config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128})").backend(), "");
}

TEST(Raw, KeepsTheObjectAndSource) {
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "iters": 7})");
  EXPECT_EQ(cfg.raw().at("iters"), 7);
  EXPECT_EQ(cfg.raw_ordered().begin().key(), "quant_method");
  EXPECT_EQ(cfg.source(), "test.json");
}

TEST(BlockNames, EverySpellingGivesTheSameScope) {
  const char* spellings[] = {
      R"("block_name_to_quantize": "model.layers,model.vision.blocks")",
      R"("block_name_to_quantize": " model.layers , model.vision.blocks. ")",
      R"("block_name_to_quantize": ["model.layers", "model.vision.blocks"])",
      R"("block_name_to_quantize": [["model.layers"], ["model.vision.blocks"]])",
      R"("to_quant_block_names": "model.layers,model.vision.blocks")",
      R"("block_name_to_quantize": "model.layers,model.vision.blocks", "to_quant_block_names": "x")",
  };
  for (const char* s : spellings) {
    const auto cfg = config(std::string(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, )") +
                            s + "}");
    EXPECT_TRUE(cfg.resolve("model.layers.3.mlp.up_proj").quantized) << s;
    EXPECT_TRUE(cfg.resolve("model.vision.blocks.0.attn.qkv").quantized) << s;
    EXPECT_FALSE(cfg.resolve("model.vision.merger.linear").quantized) << s;
    EXPECT_FALSE(cfg.resolve("model.layersX.0.mlp.up_proj").quantized) << s;
    EXPECT_FALSE(cfg.resolve("lm_head").quantized) << s;
  }
  // A block prefix ends at a dot: block 1 does not hold layer 10.
  const auto one = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
                              "block_name_to_quantize": ["model.layers.1"]})");
  EXPECT_TRUE(one.resolve("model.layers.1.mlp.up_proj").quantized);
  EXPECT_FALSE(one.resolve("model.layers.10.mlp.up_proj").quantized);
}

// ------------------------------------------------------------------ LayerScheme

TEST(LayerSchemeText, DescribesTheScheme) {
  EXPECT_EQ(config(kW4WithDenseKProj).resolve("model.layers.0.self_attn.q_proj").describe(),
            "int4 g128 sym gptq_v1 (auto_round:auto_gptq)");
  EXPECT_EQ(config(R"({"quant_method": "auto-round", "bits": 4, "group_size": -1, "sym": false,
                       "act_bits": 8, "packing_format": "auto_round"})").resolve("a.b").describe(),
            "int4 g-1 asym a8 int per-token dynamic gptq_v2 (auto_round)");
  EXPECT_EQ(config(R"({"quant_method": "auto-round", "bits": 8, "group_size": -1, "data_type": "fp",
                       "weight_block_size": [128, 128]})").resolve("a.b").describe(),
            "fp8_e4m3 block 128x128 fp8_block (auto_round:fp8)");
}

TEST(LayerSchemeEquality, ComparesLayoutNotSpelling) {
  const std::string layer = "model.layers.0.mlp.up_proj";
  const auto base = std::string(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, )");
  const LayerScheme v2a = config(base + R"("packing_format": "auto_round"})").resolve(layer);
  const LayerScheme v2b = config(base + R"("packing_format": "auto_round:gptqmodel"})").resolve(layer);
  const LayerScheme v1 = config(base + R"("packing_format": "auto_round:auto_gptq"})").resolve(layer);
  const LayerScheme g64 = config(base + R"("extra_config": {"up_proj": {"group_size": 64}}})").resolve(layer);
  EXPECT_TRUE(v2a == v2b);
  EXPECT_FALSE(v2a == v1);
  EXPECT_FALSE(v1 == g64);
  // Two dense layers are equal whatever made them dense.
  const auto dense = config(base + R"("extra_config": {"up_proj": {"bits": 16}, "down_proj": {"data_type": "float"}}})");
  EXPECT_TRUE(dense.resolve("x.up_proj") == dense.resolve("x.down_proj"));
  EXPECT_FALSE(dense.resolve("x.up_proj") == v1);
}

// ------------------------------------------------------------------ fused modules

std::vector<std::string> llama_layer(int i) {
  const std::string p = "model.layers." + std::to_string(i);
  return {p + ".self_attn.q_proj", p + ".self_attn.k_proj", p + ".self_attn.v_proj",
          p + ".self_attn.o_proj", p + ".mlp.gate_proj",    p + ".mlp.up_proj",
          p + ".mlp.down_proj"};
}

std::vector<std::string> moe_layer(int experts) {
  std::vector<std::string> out = {"model.layers.0.mlp.shared_expert.gate_proj",
                                  "model.layers.0.mlp.shared_expert.up_proj"};
  for (int e = 0; e < experts; ++e)
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"})
      out.push_back("model.layers.0.mlp.experts." + std::to_string(e) + "." + proj);
  return out;
}

TEST(Fused, MismatchedQkvNamesThePartsAndSchemes) {
  const std::string msg = error_of([] { config(kW4WithDenseKProj).check_fused(llama_layer(0)); });
  EXPECT_THAT(msg, HasSubstr("test.json"));
  EXPECT_THAT(msg, HasSubstr("fused module 'model.layers.0.self_attn.qkv_proj'"));
  EXPECT_THAT(msg, HasSubstr("q_proj, v_proj are int4 g128 sym gptq_v1 (auto_round:auto_gptq)"));
  EXPECT_THAT(msg, HasSubstr("k_proj is dense"));
  EXPECT_THAT(msg, HasSubstr("extra_config key 'model.layers.0.self_attn.k_proj'"));
}

TEST(Fused, ConsistentLayersPass) {
  auto names = llama_layer(0);
  const auto more = llama_layer(1);
  names.insert(names.end(), more.begin(), more.end());
  const auto moe = moe_layer(8);
  names.insert(names.end(), moe.begin(), moe.end());
  // Layer 1 entirely in 8 bits and o_proj / down_proj (not fused with anything) in 2 bits.
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "extra_config": {"model\\.layers\\.1\\.": {"bits": 8}, "o_proj": {"bits": 2},
                       "mlp.down_proj": {"bits": 2},
                       "shared_expert.gate_proj": {"bits": 8}, "shared_expert.up_proj": {"bits": 8}}})");
  EXPECT_NO_THROW(cfg.check_fused(names));
}

TEST(Fused, MismatchedGateUp) {
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "extra_config": {"mlp.up_proj": {"group_size": 32}}})");
  const std::string msg = error_of([&] { cfg.check_fused(llama_layer(2)); });
  EXPECT_THAT(msg, HasSubstr("fused module 'model.layers.2.mlp.gate_up_proj'"));
  EXPECT_THAT(msg, HasSubstr("gate_proj is int4 g128"));
  EXPECT_THAT(msg, HasSubstr("up_proj is int4 g32"));
}

TEST(Fused, MixedExpertsNameTheExpert) {
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "extra_config": {"model.layers.0.mlp.experts.5.down_proj": {"bits": 8}}})");
  const std::string msg = error_of([&] { cfg.check_fused(moe_layer(8)); });
  EXPECT_THAT(msg, HasSubstr("fused module 'model.layers.0.mlp.experts'"));
  EXPECT_THAT(msg, HasSubstr("experts.5.down_proj is int8 g128"));
  EXPECT_THAT(msg, HasSubstr("experts.0.gate_proj, experts.0.up_proj, experts.0.down_proj, "
                             "experts.1.gate_proj and 19 more are int4 g128"));
}

TEST(Fused, ExpertsAreNotAGateUpPair) {
  // An expert's gate/up belong to the MoE, not to a gate_up_proj with the shared expert.
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "extra_config": {"shared_expert.gate_proj": {"bits": 8}, "shared_expert.up_proj": {"bits": 8}}})");
  EXPECT_NO_THROW(cfg.check_fused(moe_layer(2)));
}

// ------------------------------------------------------------------ bad configs

struct BadCase {
  const char* what;
  const char* config;
  std::vector<const char*> message_has;  // key and value at least
};

const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> cases = {
      {"not an object", R"([1, 2])", {"test.json", "expected a JSON object"}},
      {"missing quant_method", R"({"bits": 4, "group_size": 128})", {"quantization_config.quant_method", "missing"}},
      {"unknown quant_method", R"({"quant_method": "gguf", "bits": 4, "group_size": 128})",
       {"test.json", "quant_method", "'gguf'"}},
      {"quant_method not a string", R"({"quant_method": 4, "bits": 4, "group_size": 128})",
       {"quant_method", "expected a string"}},
      {"missing bits", R"({"quant_method": "auto-round", "group_size": 128})", {"quantization_config.bits", "missing"}},
      {"missing group_size", R"({"quant_method": "auto-round", "bits": 4})", {"group_size", "missing"}},
      {"unknown packing_format", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "packing_format": "auto_round:exllama"})",
       {"quantization_config.packing_format", "'auto_round:exllama'"}},
      {"unknown packing in old backend", R"({"quant_method": "intel/auto-round", "bits": 4,
         "group_size": 128, "backend": "auto_round:marlin"})",
       {"quantization_config.backend", "'auto_round:marlin'"}},
      {"bits 5", R"({"quant_method": "auto-round", "bits": 5, "group_size": 128})",
       {"quantization_config.bits", "5 is not a supported bit width for data_type 'int'"}},
      {"bits 0", R"({"quant_method": "auto-round", "bits": 0, "group_size": 128})", {"bits", "0"}},
      {"bits as string", R"({"quant_method": "auto-round", "bits": "4", "group_size": 128})",
       {"quantization_config.bits", "expected an integer", "\"4\""}},
      {"bits as float", R"({"quant_method": "auto-round", "bits": 4.5, "group_size": 128})",
       {"bits", "4.5"}},
      {"group_size 0", R"({"quant_method": "auto-round", "bits": 4, "group_size": 0})",
       {"quantization_config.group_size", "0 (per tensor) is only valid for FP8"}},
      {"group_size -2", R"({"quant_method": "auto-round", "bits": 4, "group_size": -2})",
       {"quantization_config.group_size", "-2 is not a group size"}},
      {"sym as string", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": "true"})",
       {"quantization_config.sym", "expected true or false", "\"true\""}},
      {"unknown data_type", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "data_type": "int5"})",
       {"quantization_config.data_type", "'int5'"}},
      {"nv_fp 8 bits", R"({"quant_method": "auto-round", "bits": 8, "group_size": 16, "data_type": "nv_fp",
         "packing_format": "auto_round:llm_compressor"})",
       {"quantization_config.bits", "8 is not a supported bit width for data_type 'nv_fp'"}},
      {"nv_fp default packing", R"({"quant_method": "auto-round", "bits": 4, "group_size": 16,
         "data_type": "nv_fp"})",
       {"data_type 'nv_fp' cannot be stored with packing_format 'auto_round:auto_gptq'", "default"}},
      {"act_bits 5", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "act_bits": 5})",
       {"quantization_config.act_bits", "5"}},
      {"act_dynamic not bool", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "act_bits": 8, "act_dynamic": 1})",
       {"quantization_config.act_dynamic", "expected true or false"}},
      {"invalid regex key", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "extra_config": {"model.layers.(0": {"bits": 8}}})",
       {"extra_config['model.layers.(0']", "not a valid regex"}},
      {"bad override value", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "extra_config": {"lm_head": {"bits": 7}}})",
       {"quantization_config.extra_config['lm_head'].bits", "7"}},
      {"bad override type", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "extra_config": {"lm_head": {"sym": "yes"}}})",
       {"quantization_config.extra_config['lm_head'].sym", "\"yes\""}},
      {"override not an object", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "extra_config": {"lm_head": 8}})",
       {"quantization_config.extra_config['lm_head']", "expected an object"}},
      {"extra_config not an object", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "extra_config": ["lm_head"]})",
       {"quantization_config.extra_config", "expected an object"}},
      {"gptq checkpoint_format", R"({"quant_method": "gptq", "bits": 4, "group_size": 128,
         "checkpoint_format": "marlin"})",
       {"quantization_config.checkpoint_format", "'marlin'"}},
      {"gptq desc_act type", R"({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": "no"})",
       {"quantization_config.desc_act", "\"no\""}},
      {"gptq dynamic bad regex", R"({"quant_method": "gptq", "bits": 4, "group_size": 128,
         "dynamic": {"+:layers[": {"bits": 8}}})",
       {"dynamic['+:layers[']", "not a valid regex"}},
      {"gptq dynamic bad value", R"({"quant_method": "gptq", "bits": 4, "group_size": 128,
         "dynamic": {"+:.*mlp": {"bits": 6}}})",
       {"quantization_config.dynamic['+:.*mlp'].bits", "6"}},
      {"awq version", R"({"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemv"})",
       {"quantization_config.version", "'gemv'"}},
      {"weight_block_size", R"({"quant_method": "auto-round", "bits": 8, "group_size": -1,
         "data_type": "fp", "weight_block_size": [128]})",
       {"quantization_config.weight_block_size", "[128]"}},
      {"block names type", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "block_name_to_quantize": 5})",
       {"quantization_config.block_name_to_quantize", "5"}},
      {"not_convert bad regex", R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
         "modules_to_not_convert": ["lm_head", "visual.*("]})",
       {"quantization_config.modules_to_not_convert", "'visual.*('"}},
      {"block group for int", R"({"quant_method": "auto-round", "bits": 4, "group_size": [128, 128]})",
       {"quantization_config.group_size", "only valid for FP8"}},
  };
  return cases;
}

TEST(BadConfig, EachErrorNamesSourceKeyAndValue) {
  for (const auto& c : bad_cases()) {
    const std::string msg = error_of([&] { config(c.config); });
    EXPECT_THAT(msg, HasSubstr("test.json")) << c.what;
    for (const char* piece : c.message_has) EXPECT_THAT(msg, HasSubstr(piece)) << c.what;
  }
}

TEST(HarmlessKeys, AreAccepted) {
  const auto cfg = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true,
      "autoround_version": "0.7.1", "iters": 0, "nsamples": 128, "seqlen": 2048, "lr": null,
      "minmax_lr": 0.005, "enable_quanted_input": false, "scale_dtype": "torch.float16", "amp": true,
      "low_gpu_mem_usage": true, "dataset": "NeelNanda/pile-10k", "batch_size": 8,
      "gradient_accumulate_steps": 1, "super_bits": null, "super_group_size": null,
      "enable_minmax_tuning": true, "true_sequential": false, "damp_percent": 0.01,
      "static_groups": false, "model_name_or_path": "x", "provider": "auto-round",
      "act_data_type": "float", "act_group_size": null, "act_sym": null, "vllm_backend": "auto",
      "block_name_to_quantize": null, "extra_config": null, "packing_format": null})");
  EXPECT_EQ(cfg.resolve("model.layers.0.mlp.up_proj").describe(), "int4 g128 sym gptq_v1 (auto_round:auto_gptq)");
}

// ------------------------------------------------------------------ files

class ModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(INCQ_TEST_BINARY_DIR) / "test_config_resolution" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }
  std::filesystem::path dir_;
};

const std::string kDataDir = std::string(INCQ_TEST_SOURCE_DIR) + "/tests/data/config";

TEST(ModelDirFixtures, AutoRoundConfigJson) {
  const auto cfg = QuantConfig::from_model_dir(kDataDir + "/autoround_qwen_moe");
  EXPECT_THAT(cfg.source(), HasSubstr("autoround_qwen_moe/config.json"));
  EXPECT_EQ(cfg.resolve("model.layers.1.mlp.experts.2.down_proj").describe(),
            "int4 g128 sym gptq_v1 (auto_round:auto_gptq)");
  EXPECT_FALSE(cfg.resolve("model.layers.0.mlp.gate").quantized);  // the router, kept float
  EXPECT_EQ(cfg.resolve("lm_head").describe(), "int8 g64 sym gptq_v1 (auto_round:auto_gptq)");
  EXPECT_NO_THROW(cfg.check_fused(moe_layer(4)));
}

TEST(ModelDirFixtures, OldIntelAutoRoundQuantizationConfigJson) {
  const auto cfg = QuantConfig::from_model_dir(kDataDir + "/old_intel_autoround");
  EXPECT_THAT(cfg.source(), HasSubstr("old_intel_autoround/quantization_config.json"));
  EXPECT_EQ(cfg.resolve("model.layers.0.self_attn.q_proj").describe(),
            "int4 g128 asym gptq_v1 (auto_round:auto_gptq)");
  EXPECT_EQ(cfg.backend(), "");
}

TEST_F(ModelDir, ConfigJsonWithoutQuantizationConfigFallsBackToTheOtherFile) {
  write("config.json", R"({"architectures": ["LlamaForCausalLM"]})");
  write("quantization_config.json", R"({"quant_method": "auto-round", "bits": 2, "group_size": 64})");
  const auto cfg = QuantConfig::from_model_dir(dir_.string());
  EXPECT_THAT(cfg.source(), HasSubstr("quantization_config.json"));
  EXPECT_EQ(cfg.resolve("model.layers.0.mlp.up_proj").scheme.bits, 2);
}

TEST_F(ModelDir, ErrorsNameTheFile) {
  const std::string none = error_of([&] { QuantConfig::from_model_dir(dir_.string()); });
  EXPECT_THAT(none, HasSubstr(dir_.string()));
  EXPECT_THAT(none, HasSubstr("neither config.json nor quantization_config.json"));

  write("config.json", R"({"architectures": ["LlamaForCausalLM"]})");
  EXPECT_THAT(error_of([&] { QuantConfig::from_model_dir(dir_.string()); }),
              HasSubstr((dir_ / "config.json").string() + ": no quantization_config"));

  write("config.json", R"({"quantization_config": {"quant_method": "auto-round", "bits": 4,)");
  const std::string bad_json = error_of([&] { QuantConfig::from_model_dir(dir_.string()); });
  EXPECT_THAT(bad_json, HasSubstr((dir_ / "config.json").string() + ": not valid JSON"));

  write("config.json", R"({"quantization_config": {"quant_method": "auto-round", "bits": 6, "group_size": 128}})");
  const std::string bad_value = error_of([&] { QuantConfig::from_model_dir(dir_.string()); });
  EXPECT_THAT(bad_value, HasSubstr((dir_ / "config.json").string() + ": quantization_config.bits: 6"));

  std::filesystem::remove(dir_ / "config.json");
  write("quantization_config.json", "not json");
  EXPECT_THAT(error_of([&] { QuantConfig::from_model_dir(dir_.string()); }),
              HasSubstr((dir_ / "quantization_config.json").string() + ": not valid JSON"));
}

}  // namespace

// Activation quantization as AutoRound's exports write it (checked against tests/fixtures/autoround):
// MXFP4 and NVFP4 are W4A4 with a shared scale per weight-sized group, FP8 block is W8A8 with a
// scale per act_group_size, W4A8 int is per token unless told otherwise, "float" means unquantized.
TEST(ActivationScheme, ResolvesFamilyGroupAndSymmetry) {
  const incq_scheme mx = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 32, "data_type": "mx_fp",
      "act_bits": 4, "act_data_type": "mx_fp", "act_group_size": 32, "act_dynamic": true,
      "packing_format": "auto_round:llm_compressor"})").resolve("a.b").scheme;
  EXPECT_EQ(mx.act_family, INCQ_FAMILY_MX_FP);
  EXPECT_EQ(mx.act_group_size, 32);
  EXPECT_EQ(mx.act_sym, 1);
  const incq_scheme nv = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 16, "data_type": "nv_fp",
      "act_bits": 4, "act_data_type": "nv_fp4_with_static_gs", "packing_format": "auto_round:llm_compressor"})")
                             .resolve("a.b").scheme;
  EXPECT_EQ(nv.act_family, INCQ_FAMILY_NV_FP);
  EXPECT_EQ(nv.act_group_size, 16);  // defaults to the weight group for block-scaled formats
  const incq_scheme fp8 = config(R"({"quant_method": "auto-round", "bits": 8, "data_type": "fp", "group_size": [128, 128],
      "act_bits": 8, "act_data_type": "fp", "act_group_size": 128, "packing_format": "auto_round:fp8",
      "weight_block_size": [128, 128]})").resolve("a.b").scheme;
  EXPECT_EQ(fp8.act_family, INCQ_FAMILY_FP8);
  EXPECT_EQ(fp8.act_group_size, 128);
  const incq_scheme w4a8 = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "sym": true,
      "act_bits": 8, "act_dynamic": true})").resolve("a.b").scheme;
  EXPECT_EQ(w4a8.act_family, INCQ_FAMILY_INT);
  EXPECT_EQ(w4a8.act_group_size, -1);
  const incq_scheme wo = config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128,
      "act_bits": 16, "act_data_type": "float"})").resolve("a.b").scheme;
  EXPECT_EQ(wo.act_bits, 16);
  EXPECT_EQ(wo.act_family, INCQ_FAMILY_DENSE);
}

TEST(ActivationScheme, QuantizedBitsWithAnUnquantizedTypeIsAnError) {
  try {
    config(R"({"quant_method": "auto-round", "bits": 4, "group_size": 128, "act_bits": 8, "act_data_type": "float"})");
    FAIL() << "expected an error";
  } catch (const incq::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("act_data_type"));
    EXPECT_THAT(e.what(), HasSubstr("'float' is unquantized"));
  }
}
