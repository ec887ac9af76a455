// Differential end to end: for every integer scheme AutoRound exports, synthesize a checkpoint,
// load it through the host and the real plugins, and check each module against the host's
// double-precision oracle (verify_model). One test case per (packing, bits, sym, group size,
// g_idx kind); each writes one Linear and one MoE checkpoint with small shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/synth.hpp"
#include "core/verify.hpp"
#include "e2e_support.hpp"
#include "incq/plugin_helpers.hpp"
#include "raw_safetensors.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::e2e {
namespace {

using ojson = nlohmann::ordered_json;
namespace st = host::st;

// What inc_cpu registers today. When a faster implementation lands, this is the line to change.
constexpr const char* kLinearImpl = "inc_cpu.fast.int_wo_linear";
constexpr const char* kMoeImpl = "inc_cpu.fast.int_wo_moe";  // cpu-float's MoE driver over cpu-int's kernels

enum class GIdx { kNone, kPlain, kActOrder };

struct Combo {
  std::string packing_format;
  int bits;
  bool sym;
  int group_size;
  GIdx g_idx;
  size_t index;  // position in the list; rotates activation dtype, bias, top-k and M = 512
};

std::vector<Combo> all_combos() {
  std::vector<Combo> out;
  for (const char* format : {"auto_round:auto_gptq", "auto_round", "auto_round:gptqmodel", "auto_round:auto_awq"}) {
    const bool awq = std::string(format) == "auto_round:auto_awq";
    for (int bits : {2, 3, 4, 8}) {
      if (awq && bits != 4) continue;
      for (bool sym : {true, false})
        for (int g : {-1, 32, 64, 128, 96})
          for (GIdx gi : {GIdx::kNone, GIdx::kPlain, GIdx::kActOrder})
            out.push_back({format, bits, sym, g, gi, out.size()});
    }
  }
  return out;
}

std::string combo_label(const Combo& c) {
  std::string packing = c.packing_format == "auto_round:auto_gptq" ? "v1_auto_gptq"
                        : c.packing_format == "auto_round"         ? "v2_auto_round"
                        : c.packing_format == "auto_round:gptqmodel" ? "v2_gptqmodel"
                                                                     : "awq";
  const std::string group = c.group_size == -1 ? "gchannel" : "g" + std::to_string(c.group_size);
  const char* gi = c.g_idx == GIdx::kNone ? "nogidx" : c.g_idx == GIdx::kPlain ? "gidx" : "actorder";
  return packing + "_b" + std::to_string(c.bits) + (c.sym ? "_sym_" : "_asym_") + group + "_" + gi;
}

std::string combo_name(const ::testing::TestParamInfo<Combo>& info) { return combo_label(info.param); }
void PrintTo(const Combo& c, std::ostream* os) { *os << combo_label(c); }

// Shapes. GPTQ needs K*bits and N*bits to be whole 32-bit words, AWQ needs N % 8 == 0. Within
// that, K and N avoid multiples of 64 where they can, and group 128 on K = 160 leaves a short last
// group (ceil(K/G) groups, as GPTQ stores them); 64 and 96 divide their K.
int64_t linear_in_features(int group_size) {
  switch (group_size) {
    case 64: return 192;
    case 96: return 288;
    default: return 160;  // -1, 32 (5 groups), 128 (128 + 32)
  }
}

int64_t linear_out_features(int bits) {
  switch (bits) {
    case 2: return 48;
    case 3: return 96;
    case 4: return 40;
    default: return 36;
  }
}

struct MoeShape {
  int64_t hidden, intermediate;
};
// H = I = 96: group 64 leaves a short last group, group 96 is one group; group 128 gets 128.
MoeShape moe_shape(int group_size) { return group_size == 128 ? MoeShape{128, 128} : MoeShape{96, 96}; }

constexpr int64_t kExperts = 4;

ojson quantization_config(const Combo& c) {
  return {{"quant_method", "auto-round"}, {"packing_format", c.packing_format}, {"bits", c.bits},
          {"group_size", c.group_size},   {"sym", c.sym},                       {"data_type", "int"}};
}

void add_g_idx_flags(ojson& layer, GIdx g) {
  layer["g_idx"] = g == GIdx::kPlain;
  layer["act_order"] = g == GIdx::kActOrder;
}

const char* const kLinearName = "model.layers.0.mlp.down_proj";
const char* const kMoeName = "model.layers.0.mlp.experts";

ojson linear_spec(const Combo& c) {
  ojson layer = {{"name", kLinearName},
                 {"in_features", linear_in_features(c.group_size)},
                 {"out_features", linear_out_features(c.bits)},
                 {"bias", c.index % 2 == 1}};
  add_g_idx_flags(layer, c.g_idx);
  return {{"seed", 100 + c.index}, {"quantization_config", quantization_config(c)}, {"layers", {layer}}};
}

ojson moe_spec(const Combo& c) {
  const MoeShape s = moe_shape(c.group_size);
  ojson layer = {{"name", kMoeName}, {"num_experts", kExperts}, {"hidden_size", s.hidden},
                 {"intermediate_size", s.intermediate}};
  add_g_idx_flags(layer, c.g_idx);
  return {{"seed", 5000 + c.index},
          {"num_experts_per_tok", 2},
          {"quantization_config", quantization_config(c)},
          {"layers", {layer}}};
}

int32_t act_dtype_for(size_t index) {
  static const int32_t kDtypes[] = {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16};
  return kDtypes[index % 3];
}

// Every check a passing module must satisfy, with the module's own error text on failure.
void expect_module_passed(const host::ModuleVerification& m, const std::string& name, const std::string& kind,
                          const std::string& impl, const std::vector<int64_t>& tokens) {
  SCOPED_TRACE("module " + m.name + " (" + m.scheme + ")");
  EXPECT_EQ(m.name, name);
  EXPECT_EQ(m.kind, kind);
  EXPECT_TRUE(m.passed) << m.error;
  EXPECT_EQ(m.error, "");
  EXPECT_EQ(m.implementation, impl);
  EXPECT_GT(m.packed_bytes, 0u);
  EXPECT_GT(m.resident_bytes, 0);
  EXPECT_LE(static_cast<double>(m.resident_bytes), 1.05 * static_cast<double>(m.packed_bytes));
  ASSERT_EQ(m.runs.size(), tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const host::VerifyRun& r = m.runs[i];
    EXPECT_EQ(r.tokens, tokens[i]);
    EXPECT_TRUE(std::isfinite(r.max_abs_err)) << "tokens " << r.tokens;
    EXPECT_TRUE(std::isfinite(r.max_err_over_bound)) << "tokens " << r.tokens;
    EXPECT_TRUE(std::isfinite(r.nmse)) << "tokens " << r.tokens;
    EXPECT_LE(r.max_err_over_bound, 1.0) << "tokens " << r.tokens;
  }
}

// True when some fp16 scale of `tensor` in the written file has its sign bit set.
bool has_negative_scale(const std::string& checkpoint_dir, const std::string& tensor) {
  RawSafetensors f = RawSafetensors::read(single_shard(checkpoint_dir));
  EXPECT_EQ(f.header.at(tensor).at("dtype"), "F16");
  const uint8_t* p = f.bytes_of(tensor);
  for (size_t i = 0; i + 1 < f.size_of(tensor); i += 2)
    if ((read_u16(p + i) & 0x8000u) != 0 && (read_u16(p + i) & 0x7FFFu) != 0) return true;
  return false;
}

// One host per test suite: loading the plugins once keeps the many small cases fast.
class PluginHostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = make_build_tree_host().release(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  static host::Host* host_;
};
host::Host* PluginHostTest::host_ = nullptr;

class Differential : public PluginHostTest, public ::testing::WithParamInterface<Combo> {};

TEST_P(Differential, LinearAndMoeMatchTheOracle) {
  const Combo& c = GetParam();
  TempDir dir("diff");
  const std::string linear_dir = dir / "linear", moe_dir = dir / "moe";
  host::synthesize_checkpoint(linear_spec(c), linear_dir, "linear spec");
  host::synthesize_checkpoint(moe_spec(c), moe_dir, "moe spec");

  host::VerifyOptions linear;
  linear.act_dtype = act_dtype_for(c.index);
  linear.seed = c.index + 1;
  linear.tokens = {1, 2, 3, 7, 16, 33};
  if (c.index % 4 == 0) linear.tokens.push_back(512);
  const host::ModelVerification lv = host::verify_model(*host_, linear_dir, linear);
  EXPECT_TRUE(lv.passed());
  ASSERT_EQ(lv.modules.size(), 1u);
  expect_module_passed(lv.modules[0], kLinearName, "linear", kLinearImpl, linear.tokens);

  // T = 1 (one token, at most top_k experts busy) and T = 64 >> E (every expert busy); top-k 4 of
  // 4 experts with verify's random routing makes tokens pick an expert more than once.
  host::VerifyOptions moe;
  moe.act_dtype = act_dtype_for(c.index + 1);
  moe.seed = c.index + 7;
  moe.tokens = {1, 64};
  moe.top_k = c.index % 2 == 0 ? 2 : 4;
  const host::ModelVerification mv = host::verify_model(*host_, moe_dir, moe);
  EXPECT_TRUE(mv.passed());
  ASSERT_EQ(mv.modules.size(), 1u);
  expect_module_passed(mv.modules[0], kMoeName, "moe", kMoeImpl, moe.tokens);

  // AutoRound's symmetric RTN gives a negative scale wherever a group's largest magnitude is
  // positive; the checkpoints above must contain some, or negative scales went untested.
  if (c.sym) {
    EXPECT_TRUE(has_negative_scale(linear_dir, std::string(kLinearName) + ".scales"));
  }
}

INSTANTIATE_TEST_SUITE_P(AllIntSchemes, Differential, ::testing::ValuesIn(all_combos()), combo_name);

TEST(DifferentialCoverage, EveryCombinationIsListedOnce) {
  // 3 GPTQ packings x 4 bits + AWQ x 4 bits = 13; x 2 sym x 5 group sizes x 3 g_idx kinds.
  EXPECT_EQ(all_combos().size(), 13u * 2 * 5 * 3);
}

// ---- Zero rows: an all-zero output row and an all-zero input column, from a given F32 file ----

struct ZeroCase {
  std::string packing_format;
  int bits;
  bool sym;
};

std::string zero_case_label(const ZeroCase& z) {
  std::string f = z.packing_format;
  for (char& ch : f)
    if (ch == ':') ch = '_';
  return f + "_b" + std::to_string(z.bits) + (z.sym ? "_sym" : "_asym");
}

std::string zero_case_name(const ::testing::TestParamInfo<ZeroCase>& info) { return zero_case_label(info.param); }
void PrintTo(const ZeroCase& z, std::ostream* os) { *os << zero_case_label(z); }

std::vector<ZeroCase> zero_cases() {
  std::vector<ZeroCase> out;
  for (const char* f : {"auto_round:auto_gptq", "auto_round", "auto_round:gptqmodel"})
    for (int bits : {2, 3, 4, 8})
      for (bool sym : {true, false}) out.push_back({f, bits, sym});
  for (bool sym : {true, false}) out.push_back({"auto_round:auto_awq", 4, sym});
  return out;
}

// F32 [out, in] weights, random except output row `zero_row` and input column `zero_col`.
st::TensorToWrite weights_with_zero_lines(const std::string& name, int64_t out, int64_t in, int64_t zero_row,
                                          int64_t zero_col, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(out * in));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      w[static_cast<size_t>(o * in + i)] = (o == zero_row || i == zero_col) ? 0.0f : normal(rng);
  st::TensorToWrite t{name + ".weight", INCQ_DTYPE_F32, {out, in}, std::vector<uint8_t>(w.size() * 4)};
  std::memcpy(t.bytes.data(), w.data(), t.bytes.size());
  return t;
}

class ZeroRows : public PluginHostTest, public ::testing::WithParamInterface<ZeroCase> {};

TEST_P(ZeroRows, ZeroOutputRowAndInputColumnMatchTheOracle) {
  const ZeroCase& z = GetParam();
  TempDir dir("zero");
  // Linear 160 -> 96 (96 * bits is whole words for every bits); MoE 2 experts, H = 96, I = 64.
  std::vector<st::TensorToWrite> given = {weights_with_zero_lines(kLinearName, 96, 160, 5, 37, 1)};
  for (int e = 0; e < 2; ++e) {
    const std::string base = std::string(kMoeName) + "." + std::to_string(e) + ".";
    given.push_back(weights_with_zero_lines(base + "gate_proj", 64, 96, 3 + e, 40, 10 + e));
    given.push_back(weights_with_zero_lines(base + "up_proj", 64, 96, 0, 95, 20 + e));
    given.push_back(weights_with_zero_lines(base + "down_proj", 96, 64, 95, 0, 30 + e));
  }
  const std::string weights = dir / "dense.safetensors";
  st::write_safetensors(weights, given);

  const ojson qc = {{"quant_method", "auto-round"}, {"packing_format", z.packing_format}, {"bits", z.bits},
                    {"group_size", 32},             {"sym", z.sym},                     {"data_type", "int"}};
  const ojson spec = {{"seed", 3u},
                      {"weights", weights},
                      {"num_experts_per_tok", 2},
                      {"quantization_config", qc},
                      {"layers",
                       {{{"name", kLinearName}, {"in_features", 160}, {"out_features", 96}},
                        {{"name", kMoeName}, {"num_experts", 2}, {"hidden_size", 96}, {"intermediate_size", 64}}}}};
  host::synthesize_checkpoint(spec, dir / "ckpt", "zero-row spec");

  // The given weights were used: output row 5 of the Linear is all zero, so every group's scale
  // of column 5 is RTN's floor (1e-5), where random rows of std 0.02 give scales of 3e-4 (8 bits)
  // to 3e-2 (2 bits).
  RawSafetensors written = RawSafetensors::read(single_shard(dir / "ckpt"));
  const uint8_t* scales = written.bytes_of(std::string(kLinearName) + ".scales");
  for (int g = 0; g < 5; ++g) {
    EXPECT_LT(std::fabs(incq::half_to_float(read_u16(scales + 2 * (g * 96 + 5)))), 2e-5) << "group " << g;
    EXPECT_GT(std::fabs(incq::half_to_float(read_u16(scales + 2 * (g * 96 + 6)))), 1e-4) << "group " << g;
  }

  host::VerifyOptions o;
  o.tokens = {1, 3, 16};
  const host::ModelVerification v = host::verify_model(*host_, dir / "ckpt", o);
  EXPECT_TRUE(v.passed());
  ASSERT_EQ(v.modules.size(), 2u);
  expect_module_passed(v.modules[0], kLinearName, "linear", kLinearImpl, o.tokens);
  expect_module_passed(v.modules[1], kMoeName, "moe", kMoeImpl, o.tokens);
}

INSTANTIATE_TEST_SUITE_P(AllPackings, ZeroRows, ::testing::ValuesIn(zero_cases()), zero_case_name);

}  // namespace
}  // namespace incq::e2e
