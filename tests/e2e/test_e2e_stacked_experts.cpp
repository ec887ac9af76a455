// MoE checkpoints whose experts are stacked along a leading expert dim ("<prefix>.experts.<proj>.<role>"
// [E, ...], vLLM FusedMoE's layout) must plan, load and verify exactly like the same experts stored
// one by one ("<prefix>.experts.<e>.<proj>.<role>"). synth writes both layouts from one seed with the
// same bytes per expert, so the plugin's output on the same input must match bit for bit; and a
// stacked checkpoint whose projections disagree on E must be refused naming the tensor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/error.hpp"
#include "config/quant_config.hpp"
#include "core/inspect.hpp"
#include "core/loaded_layer.hpp"
#include "core/model_plan.hpp"
#include "core/projection_tensors.hpp"
#include "core/selection.hpp"
#include "core/synth.hpp"
#include "core/verify.hpp"
#include "e2e_support.hpp"

namespace incq::e2e {
namespace {

using ojson = nlohmann::ordered_json;
using ::testing::HasSubstr;

const std::string kExperts = "model.layers.0.mlp.experts";
constexpr int64_t kE = 4, kH = 64, kI = 32;

struct StackedCase {
  const char* name;
  const char* quantization_config;
};

const StackedCase kCases[] = {
    {"gptq_v1_sym_int4_g32", R"({"bits": 4, "group_size": 32, "sym": true, "packing_format": "auto_round:auto_gptq"})"},
    {"awq_asym_int4_g32", R"({"bits": 4, "group_size": 32, "sym": false, "packing_format": "auto_round:auto_awq"})"},
    {"fp8_per_channel", R"({"bits": 8, "data_type": "fp", "group_size": -1})"},
    {"mxfp4_w4a4", R"({"bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4, "act_data_type": "mx_fp",
       "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})"},
    {"nvfp4_w4a4", R"({"bits": 4, "group_size": 16, "data_type": "nv_fp", "act_bits": 4,
       "act_data_type": "nv_fp4_with_static_gs", "act_group_size": 16, "packing_format": "auto_round:llm_compressor"})"},
};

ojson moe_spec(const char* quantization_config, bool stacked) {
  ojson qc = ojson::parse(quantization_config);
  qc["quant_method"] = "auto-round";
  ojson layer = {{"name", kExperts}, {"num_experts", kE}, {"hidden_size", kH}, {"intermediate_size", kI}};
  if (stacked) layer["stacked"] = true;
  return {{"seed", 31u}, {"num_experts_per_tok", 2}, {"quantization_config", qc}, {"layers", ojson::array({layer})}};
}

// The module's output on a fixed input and routing, through the same bundle construction verify uses.
std::vector<float> moe_output(host::Host& h, const std::string& dir) {
  auto ckpt = host::st::Checkpoint::open(dir);
  const host::QuantConfig config = host::QuantConfig::from_model_dir(dir);
  const host::ModelPlan plan = host::plan_model(*ckpt, config);
  EXPECT_EQ(plan.modules.size(), 1u);
  const host::ModulePlan& m = plan.modules.at(0);
  const incq_layer_desc desc = host::layer_desc_for(m, INCQ_DTYPE_F32);
  const host::Selection sel =
      host::select_implementation(h.plugins().registry(), desc, h.device(), host::policy_for_model(h, config));
  std::vector<host::BundleTensor> bundle;
  for (size_t i = 0; i < m.projections.size(); ++i) {
    const auto& p = m.projections[i];
    const std::string prefix = std::to_string(i / 3) + "." + p.name.substr(p.name.rfind('.') + 1) + ".";
    for (const auto& [role, tname] : p.tensors) bundle.push_back({prefix + role, host::projection_tensor(*ckpt, p, role)});
  }
  auto layer = host::LoadedLayer::load(*sel.chosen, desc, h.device(), bundle, m.scheme.scheme.packing);
  const int64_t T = 5;
  const int top_k = desc.top_k;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(T * kH)), y(static_cast<size_t>(T * kH)), wts(static_cast<size_t>(T * top_k));
  std::vector<int32_t> ids(static_cast<size_t>(T * top_k));
  for (auto& v : x) v = u(rng);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < top_k; ++j) {
      ids[static_cast<size_t>(t * top_k + j)] = static_cast<int32_t>((t + j) % kE);  // distinct per token
      wts[static_cast<size_t>(t * top_k + j)] = 1.0f / static_cast<float>(top_k);
    }
  incq_tensor xt = host::cpu_tensor(x.data(), INCQ_DTYPE_F32, {T, kH});
  incq_tensor yt = host::cpu_tensor(y.data(), INCQ_DTYPE_F32, {T, kH});
  incq_tensor it = host::cpu_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
  incq_tensor wt = host::cpu_tensor(wts.data(), INCQ_DTYPE_F32, {T, top_k});
  layer->apply_moe(xt, it, wt, yt, h.pool().exec());
  return y;
}

class StackedExperts : public ::testing::TestWithParam<StackedCase> {};

TEST_P(StackedExperts, PlanVerifyAndOutputsEqualThePerExpertLayout) {
  const StackedCase& c = GetParam();
  TempDir dir(std::string("incq-e2e-stacked-") + c.name);
  const std::string per_expert = dir / "per_expert", stacked = dir / "stacked";
  host::synthesize_checkpoint(moe_spec(c.quantization_config, false), per_expert, c.name);
  host::synthesize_checkpoint(moe_spec(c.quantization_config, true), stacked, c.name);

  {  // The stacked checkpoint really is stacked: no per-expert name, a leading E on every tensor.
    auto ckpt = host::st::Checkpoint::open(stacked);
    for (const auto& n : ckpt->tensor_names()) {
      EXPECT_EQ(n.find(kExperts + ".0."), std::string::npos) << n;
      EXPECT_EQ(ckpt->find(n)->shape.at(0), kE) << n;
    }
    const host::ModelPlan ps = host::plan_model(*ckpt, host::QuantConfig::from_model_dir(stacked));
    auto ckpt_pe = host::st::Checkpoint::open(per_expert);
    const host::ModelPlan pp = host::plan_model(*ckpt_pe, host::QuantConfig::from_model_dir(per_expert));
    ASSERT_EQ(ps.modules.size(), 1u);
    ASSERT_EQ(pp.modules.size(), 1u);
    const auto &a = ps.modules[0], &b = pp.modules[0];
    EXPECT_EQ(a.kind, INCQ_MODULE_MOE);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.num_experts, b.num_experts);
    EXPECT_EQ(a.hidden_size, b.hidden_size);
    EXPECT_EQ(a.intermediate_size, b.intermediate_size);
    EXPECT_EQ(a.packed_bytes, b.packed_bytes);
    EXPECT_EQ(a.scheme.describe(), b.scheme.describe());
    ASSERT_EQ(a.projections.size(), b.projections.size());
    for (size_t i = 0; i < a.projections.size(); ++i) {
      const auto &pa = a.projections[i], &pb = b.projections[i];
      EXPECT_EQ(pa.name, pb.name);
      EXPECT_EQ(pa.stacked_index, static_cast<int64_t>(i / 3));
      EXPECT_EQ(pb.stacked_index, -1);
      ASSERT_EQ(pa.tensors.size(), pb.tensors.size()) << pa.name;
      for (const auto& [role, tname] : pb.tensors) {
        // Same bytes and shape per expert, and a zero-copy view into the stacked tensor's mapping.
        const host::st::TensorView va = host::projection_view(*ckpt, pa, role);
        const host::st::TensorView vb = host::projection_view(*ckpt_pe, pb, role);
        EXPECT_EQ(va.shape, vb.shape) << pa.name << " " << role;
        ASSERT_EQ(va.nbytes, vb.nbytes) << pa.name << " " << role;
        EXPECT_EQ(std::memcmp(va.data, vb.data, va.nbytes), 0) << pa.name << " " << role;
        const host::st::TensorView* whole = ckpt->find(pa.tensors.at(role));
        EXPECT_EQ(va.data, whole->data + pa.stacked_index * va.nbytes) << pa.name << " " << role;
      }
    }
  }

  auto h = make_build_tree_host();
  host::VerifyOptions o;
  o.tokens = {1, 3, 17};
  const host::ModelVerification rs = host::verify_model(*h, stacked, o);
  const host::ModelVerification rp = host::verify_model(*h, per_expert, o);
  ASSERT_EQ(rs.modules.size(), 1u);
  ASSERT_EQ(rp.modules.size(), 1u);
  EXPECT_TRUE(rs.passed()) << c.name << ": " << rs.modules[0].error;
  EXPECT_TRUE(rp.passed()) << c.name << ": " << rp.modules[0].error;
  EXPECT_EQ(rs.modules[0].implementation, rp.modules[0].implementation);
  EXPECT_EQ(rs.modules[0].resident_bytes, rp.modules[0].resident_bytes);
  ASSERT_EQ(rs.modules[0].runs.size(), rp.modules[0].runs.size());
  for (size_t i = 0; i < rs.modules[0].runs.size(); ++i)
    EXPECT_EQ(rs.modules[0].runs[i].max_abs_err, rp.modules[0].runs[i].max_abs_err) << "tokens "
                                                                                    << rs.modules[0].runs[i].tokens;

  const std::vector<float> ys = moe_output(*h, stacked), yp = moe_output(*h, per_expert);
  ASSERT_EQ(ys.size(), yp.size());
  EXPECT_EQ(std::memcmp(ys.data(), yp.data(), ys.size() * sizeof(float)), 0) << c.name << ": outputs differ";
  bool nonzero = false;
  for (float v : ys) nonzero = nonzero || v != 0.0f;
  EXPECT_TRUE(nonzero) << "the MoE output must not be trivially zero";
}

std::string case_name(const ::testing::TestParamInfo<StackedCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Schemes, StackedExperts, ::testing::ValuesIn(kCases), case_name);

// Every tensor of the checkpoint in `dir`, copied, for writing an edited version.
std::vector<host::st::TensorToWrite> all_tensors(const std::string& dir) {
  auto ckpt = host::st::Checkpoint::open(dir);
  std::vector<host::st::TensorToWrite> out;
  for (const auto& n : ckpt->tensor_names()) {
    const host::st::TensorView* t = ckpt->find(n);
    out.push_back({n, t->dtype, t->shape, std::vector<uint8_t>(t->data, t->data + t->nbytes)});
  }
  return out;
}

std::string plan_error(const std::string& dir) {
  try {
    auto ckpt = host::st::Checkpoint::open(dir);
    host::plan_model(*ckpt, host::QuantConfig::from_model_dir(dir));
  } catch (const host::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << dir << ": planned without error";
  return {};
}

const char* kGptq = kCases[0].quantization_config;

TEST(StackedExpertsMalformed, DownProjStackingFewerExpertsThanGateIsRefusedNamingTheTensor) {
  TempDir dir("incq-e2e-stacked-malformed");
  const std::string good = dir / "good", bad = dir / "bad";
  host::synthesize_checkpoint(moe_spec(kGptq, true), good, "stacked");
  std::vector<host::st::TensorToWrite> tensors = all_tensors(good);
  for (auto& t : tensors)
    if (t.name.rfind(kExperts + ".down_proj.", 0) == 0) {  // drop the last expert of down_proj only
      t.bytes.resize(t.bytes.size() / kE * (kE - 1));
      t.shape[0] = kE - 1;
    }
  host::st::write_checkpoint(bad, tensors, uint64_t{64} << 20);
  write_text(bad + "/config.json", read_text(good + "/config.json"));
  const std::string err = plan_error(bad);
  EXPECT_THAT(err, HasSubstr(kExperts + ".down_proj.")) << err;
  EXPECT_THAT(err, HasSubstr("leading dimension 3")) << err;
  EXPECT_THAT(err, HasSubstr("MoE '" + kExperts + "'")) << err;
  EXPECT_THAT(err, HasSubstr(bad)) << err;  // the file
}

TEST(StackedExpertsMalformed, MixingStackedAndPerExpertTensorsInOneMoeIsRefused) {
  TempDir dir("incq-e2e-stacked-mixed");
  const std::string stacked = dir / "stacked", per_expert = dir / "per_expert", mixed = dir / "mixed";
  host::synthesize_checkpoint(moe_spec(kGptq, true), stacked, "stacked");
  host::synthesize_checkpoint(moe_spec(kGptq, false), per_expert, "per-expert");
  std::vector<host::st::TensorToWrite> tensors = all_tensors(stacked);
  for (auto& t : all_tensors(per_expert))
    if (t.name.rfind(kExperts + ".1.", 0) == 0) tensors.push_back(std::move(t));  // expert 1 twice, two ways
  host::st::write_checkpoint(mixed, tensors, uint64_t{64} << 20);
  write_text(mixed + "/config.json", read_text(stacked + "/config.json"));
  const std::string err = plan_error(mixed);
  EXPECT_THAT(err, HasSubstr("mixes stacked expert tensors")) << err;
  EXPECT_THAT(err, HasSubstr(kExperts)) << err;
}

}  // namespace
}  // namespace incq::e2e
