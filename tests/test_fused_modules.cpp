// Fused modules through the real inc_cpu plugin. Same-scheme q/k/v (and gate/up) merge into one
// layer with output partitions, whose output equals the concatenation of the separate layers bit for
// bit (same implementation, same columns: the reference rounds each element once from a double sum
// over K). Mixed schemes (bits, group size, sym, packing, act-order permutations, FP8 next to int)
// run as separate parts, each with its own implementation, and give exactly the unfused outputs.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "core/fused_modules.hpp"
#include "tp_test_support.hpp"

namespace {

using namespace tp_test;

constexpr int64_t kK = 256;
constexpr int64_t kM = 3;

h::LayerScheme layer_scheme(const incq_scheme& s) {
  h::LayerScheme l;
  l.quantized = true;
  l.scheme = s;
  l.scheme.has_g_idx = 0;  // as the resolver gives it: the host sets it from the tensors
  l.rule = "test";
  return l;
}

class FusedModules : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = make_host().release(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  static h::Host* host_;

  // Runs the fused module and every part alone (automatic selection: each part gets whatever
  // implementation its own scheme selects) and requires the fused output to be their concatenation.
  h::FusedPlan check_fused_equals_parts(const std::string& name, const std::vector<h::ProjectionWeights>& parts,
                                        const std::vector<h::LayerScheme>& schemes) {
    // ark (where ARK is installed) takes some shapes and not others; bit equality needs both sides on
    // the same plugin, so this suite judges inc_cpu alone.
    h::SelectionPolicy policy;
    policy.disabled = {h::BackendChoice{"ark", "test_fused_modules"}};
    const h::FusedPlan plan = h::plan_fused(name, parts, schemes);
    auto fused = h::FusedLinear::load(host_->plugins().registry(), host_->device(), policy, plan, parts, schemes,
                                      INCQ_DTYPE_F32);
    const int64_t N = plan.out_features();
    const auto x = random_x(kM, kK, 21);
    std::vector<float> y(static_cast<size_t>(kM * N), std::nanf(""));
    incq_tensor xt = h::cpu_tensor(const_cast<float*>(x.data()), INCQ_DTYPE_F32, {kM, kK});
    incq_tensor yt = h::cpu_tensor(y.data(), INCQ_DTYPE_F32, {kM, N});
    fused->apply(xt, yt, host_->pool().exec());
    int64_t col = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto& p = parts[i];
      incq_scheme s = schemes[i].scheme;
      s.has_g_idx = p.find("g_idx") ? 1 : 0;
      const auto alone =
          run_linear(*host_, policy, linear_desc(p.name, s, p.in_features, p.out_features, p.find("bias") != nullptr),
                     p.tensors, x, kM);
      for (int64_t m = 0; m < kM; ++m)
        for (int64_t j = 0; j < p.out_features; ++j) {
          const float got = y[static_cast<size_t>(m * N + col + j)];
          const float want = alone.y[static_cast<size_t>(m * p.out_features + j)];
          if (!(got == want)) {
            ADD_FAILURE() << name << ": part '" << p.name << "' (" << schemes[i].describe() << ") output (" << m << ", "
                          << j << ") is " << got << " fused, " << want << " alone";
            return plan;
          }
        }
      col += p.out_features;
    }
    return plan;
  }
};
h::Host* FusedModules::host_ = nullptr;

std::vector<h::ProjectionWeights> views(const std::vector<IntLayer>& ls) {
  std::vector<h::ProjectionWeights> v;
  for (const auto& l : ls) v.push_back(l.view());
  return v;
}

TEST_F(FusedModules, SameSchemeQkvMergesIntoOneLayerEqualToSeparateLayers) {
  size_t merged = 0;
  for (const IntCase& c : int_cases({GIdx::None, GIdx::ActOrder})) {
    // q 128, k 64, v 64 columns (grouped-query attention); act-order parts share one permutation,
    // as q/k/v of one attention read the same input. Only q has a bias, so the merged bias is
    // zero-filled for k and v.
    std::vector<IntLayer> ls = {make_int_layer("attn.q_proj", c, kK, 128, 1, true, 99),
                                make_int_layer("attn.k_proj", c, kK, 64, 2, false, 99),
                                make_int_layer("attn.v_proj", c, kK, 64, 3, false, 99)};
    const auto parts = views(ls);
    const std::vector<h::LayerScheme> schemes(3, layer_scheme(c.scheme()));
    const h::FusedPlan plan = check_fused_equals_parts("attn.qkv_proj", parts, schemes);
    ASSERT_EQ(plan.groups.size(), 1u) << c.label() << ": " << (plan.split_reasons.empty() ? "" : plan.split_reasons[0]);
    const auto m = h::merge_projections("attn.qkv_proj", {&parts[0], &parts[1], &parts[2]}, schemes[0]);
    EXPECT_EQ(m.output_partitions, (std::vector<int64_t>{128, 64, 64}));
    EXPECT_EQ(m.out_features, 256);
    ++merged;
  }
  std::printf("[ fused ] %zu same-scheme q/k/v modules merged and equal to their separate layers bit-exactly\n", merged);
}

TEST_F(FusedModules, MixedSchemesRunAsPartsAndEqualTheUnfusedLayers) {
  const IntCase q4{INCQ_PACKING_GPTQ_V2, 4, true, 128, GIdx::None};
  const IntCase q4g32{INCQ_PACKING_GPTQ_V2, 4, true, 32, GIdx::None};
  const IntCase k8{INCQ_PACKING_GPTQ_V1, 8, false, 32, GIdx::None};
  const IntCase v3{INCQ_PACKING_GPTQ_V2, 3, false, -1, GIdx::None};
  const IntCase awq{INCQ_PACKING_AWQ, 4, true, 128, GIdx::None};
  const IntCase q4asym{INCQ_PACKING_GPTQ_V2, 4, false, 128, GIdx::None};
  struct Mix {
    std::vector<IntCase> cases;
    size_t groups;
  };
  const Mix mixes[] = {
      {{q4, k8, v3}, 3},       // different bits and groups everywhere
      {{q4, q4, k8}, 2},       // q and k merge, v alone
      {{q4, q4g32, q4}, 3},    // only the group size differs
      {{q4, awq, q4}, 3},      // GPTQ next to AWQ
      {{q4, q4asym, q4}, 3},   // sym next to asym
  };
  for (const Mix& mix : mixes) {
    std::vector<IntLayer> ls;
    std::vector<h::LayerScheme> schemes;
    const char* names[] = {"attn.q_proj", "attn.k_proj", "attn.v_proj"};
    for (size_t i = 0; i < mix.cases.size(); ++i) {
      ls.push_back(make_int_layer(names[i], mix.cases[i], kK, i == 0 ? 128 : 64, 10 + i, i != 1));
      schemes.push_back(layer_scheme(mix.cases[i].scheme()));
    }
    const h::FusedPlan plan = check_fused_equals_parts("attn.qkv_proj", views(ls), schemes);
    EXPECT_EQ(plan.groups.size(), mix.groups) << mix.cases[0].label() << " / " << mix.cases[1].label() << " / "
                                              << mix.cases[2].label();
    ASSERT_EQ(plan.split_reasons.size(), mix.groups - 1);
    EXPECT_NE(plan.split_reasons.back().find(" but "), std::string::npos) << plan.split_reasons.back();
  }
}

TEST_F(FusedModules, DifferentActOrderPermutationsRunAsParts) {
  const IntCase c{INCQ_PACKING_GPTQ_V2, 4, false, 32, GIdx::ActOrder};
  std::vector<IntLayer> ls = {make_int_layer("mlp.gate_proj", c, kK, 128, 1, false, 5),
                              make_int_layer("mlp.up_proj", c, kK, 128, 2, false, 6)};
  const std::vector<h::LayerScheme> schemes(2, layer_scheme(c.scheme()));
  const h::FusedPlan plan = check_fused_equals_parts("mlp.gate_up_proj", views(ls), schemes);
  ASSERT_EQ(plan.groups.size(), 2u);
  EXPECT_NE(plan.split_reasons[0].find("tensor 'g_idx' differs"), std::string::npos) << plan.split_reasons[0];
  const auto parts = views(ls);
  try {
    h::merge_projections("mlp.gate_up_proj", {&parts[0], &parts[1]}, schemes[0]);
    ADD_FAILURE() << "parts with different g_idx were merged";
  } catch (const h::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mlp.gate_up_proj"), std::string::npos) << e.what();
  }
}

// A hybrid checkpoint: an FP8 q_proj (per-channel scales) next to int4 k/v. The FP8 part runs on
// whatever implementation can run FP8 (when one is registered) and the fused output must equal it
// alone; when none can, the test says so and checks that loading reports the FP8 part.
TEST_F(FusedModules, HybridFp8AndIntPartsRunEachWithItsOwnImplementation) {
  const int64_t N = 128;
  incq_scheme fp8{};
  fp8.struct_size = sizeof fp8;
  fp8.family = INCQ_FAMILY_FP8;
  fp8.bits = 8;
  fp8.group_size = -1;
  fp8.sym = 1;
  fp8.packing = INCQ_PACKING_FP8;
  fp8.act_bits = 16;
  fp8.act_family = INCQ_FAMILY_DENSE;
  fp8.act_sym = 1;
  fp8.weight_dtype = INCQ_DTYPE_F8_E4M3;
  std::mt19937_64 rng(4);
  q::PackedTensor w{"weight", INCQ_DTYPE_F8_E4M3, {N, kK}, std::vector<uint8_t>(static_cast<size_t>(N * kK))};
  for (auto& b : w.bytes) {
    b = static_cast<uint8_t>(rng());
    if ((b & 0x7F) == 0x7F) b &= 0xFE;  // e4m3 has no Inf; 0x7F / 0xFF are NaN
  }
  q::PackedTensor sc{"weight_scale", INCQ_DTYPE_F32, {N}, std::vector<uint8_t>(static_cast<size_t>(N) * 4)};
  for (int64_t n = 0; n < N; ++n) {
    const float v = 0.001f * static_cast<float>(1 + n % 7) * (n % 3 == 0 ? -1.0f : 1.0f);
    std::memcpy(&sc.bytes[static_cast<size_t>(n) * 4], &v, 4);
  }
  h::ProjectionWeights qp{"attn.q_proj", kK, N, {{"weight", q::tensor_view(w)}, {"weight_scale", q::tensor_view(sc)}}};
  const IntCase i4{INCQ_PACKING_GPTQ_V2, 4, true, 128, GIdx::None};
  std::vector<IntLayer> kv = {make_int_layer("attn.k_proj", i4, kK, 64, 2, false),
                              make_int_layer("attn.v_proj", i4, kK, 64, 3, false)};
  const std::vector<h::ProjectionWeights> parts = {qp, kv[0].view(), kv[1].view()};
  const std::vector<h::LayerScheme> schemes = {layer_scheme(fp8), layer_scheme(i4.scheme()), layer_scheme(i4.scheme())};

  const incq_layer_desc d = linear_desc("attn.q_proj", fp8, kK, N, false);
  const h::Selection sel = h::try_select_implementation(host_->plugins().registry(), d, host_->device(), {});
  if (sel.chosen == nullptr) {
    std::printf("[ fused ] not runnable yet: FP8 per-channel Linear (no implementation can run it: %s)\n",
                sel.error.c_str());
    const h::FusedPlan plan = h::plan_fused("attn.qkv_proj", parts, schemes);
    EXPECT_EQ(plan.groups.size(), 2u);  // FP8 q alone, int4 k+v merged
    try {
      h::FusedLinear::load(host_->plugins().registry(), host_->device(), {}, plan, parts, schemes, INCQ_DTYPE_F32);
      ADD_FAILURE() << "an FP8 part loaded although no implementation can run it";
    } catch (const h::Error& e) {
      EXPECT_NE(std::string(e.what()).find("attn.q_proj"), std::string::npos) << e.what();
    }
    return;
  }
  const h::FusedPlan plan = check_fused_equals_parts("attn.qkv_proj", parts, schemes);
  EXPECT_EQ(plan.groups.size(), 2u);
  std::printf("[ fused ] hybrid: FP8 q alone (%s) + int4 k/v merged: equal to the unfused layers\n", sel.chosen->name.c_str());
}

TEST(FusedModulesErrors, PartsThatCannotFormOneModuleAreNamed) {
  const IntCase c{INCQ_PACKING_GPTQ_V2, 4, true, 32, GIdx::None};
  const IntLayer a = make_int_layer("attn.q_proj", c, 256, 64, 1, false);
  const IntLayer b = make_int_layer("attn.k_proj", c, 128, 64, 2, false);
  try {
    h::plan_fused("attn.qkv_proj", {a.view(), b.view()}, {layer_scheme(c.scheme()), layer_scheme(c.scheme())});
    ADD_FAILURE() << "parts with different K formed a fused module";
  } catch (const h::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("attn.qkv_proj"), std::string::npos) << m;
    EXPECT_NE(m.find("attn.k_proj"), std::string::npos) << m;
  }
  h::LayerScheme dense;
  dense.rule = "modules_to_not_convert";
  try {
    h::plan_fused("attn.qkv_proj", {a.view(), a.view()}, {layer_scheme(c.scheme()), dense});
    ADD_FAILURE() << "a dense part was planned for a plugin";
  } catch (const h::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dense"), std::string::npos) << e.what();
  }
}

}  // namespace
