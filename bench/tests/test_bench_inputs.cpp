// The benchmark's inputs: problem lists (expansion, errors naming file:line and token), scheme
// names (resolved by the host's own config resolver) and the synthesized layers (bundle names,
// byte counts, layer descriptions) — what every timing in the bench depends on.
#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"
#include "problem_list.hpp"
#include "scheme_names.hpp"
#include "synth_layer.hpp"

using namespace incq::bench;

TEST(ProblemList, ExpandsShapesAndSchemesKeepsTokenLists) {
  const auto ps = parse_problems(
      "# comment\n"
      "linear NK=4096x4096,4096x14336 M=1,16,512 scheme=int4_g128,int4_g32 compute=int8 tag=x\n"
      "\n"
      "moe E=8,64 topk=2 H=256 I=128 T=1,4 scheme=int4_g128  # trailing comment\n",
      "list.txt");
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_EQ(ps[0].kind, "linear");
  EXPECT_EQ(ps[0].N, 4096);
  EXPECT_EQ(ps[0].K, 4096);
  EXPECT_EQ(ps[0].scheme, "int4_g128");
  EXPECT_EQ(ps[1].scheme, "int4_g32");
  EXPECT_EQ(ps[2].K, 14336);
  EXPECT_EQ(ps[0].tokens, (std::vector<int64_t>{1, 16, 512}));
  EXPECT_EQ(ps[0].compute, "int8");
  EXPECT_EQ(ps[0].tag, "x");
  EXPECT_EQ(ps[0].source, "list.txt:2");
  EXPECT_TRUE(ps[4].is_moe());
  EXPECT_EQ(ps[4].experts, 8);
  EXPECT_EQ(ps[5].experts, 64);
  EXPECT_EQ(ps[5].tokens, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(ps[5].shape(), "E64 k2 H256 I128");
  EXPECT_EQ(ps[5].source, "list.txt:4");
}

TEST(ProblemList, ErrorsNameTheLineAndTheToken) {
  auto message = [](const std::string& text) {
    try {
      parse_problems(text, "f.txt");
    } catch (const incq::host::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("\nlinear NK=4096 M=1 scheme=int4_g128\n").find("f.txt:2"), std::string::npos);
  EXPECT_NE(message("linear NK=4096 M=1 scheme=int4_g128").find("'4096' is not NxK"), std::string::npos);
  EXPECT_NE(message("linear NK=8x8 M=0 scheme=int4_g128").find("'0' is not a positive integer"), std::string::npos);
  EXPECT_NE(message("linear NK=8x8 M=1").find("'scheme' is required"), std::string::npos);
  EXPECT_NE(message("linear NK=8x8 M=1 scheme=a E=3").find("unknown key 'E'"), std::string::npos);
  EXPECT_NE(message("conv NK=8x8").find("not 'conv'"), std::string::npos);
  EXPECT_NE(message("moe E=2 topk=4 H=8 I=8 T=1 scheme=a").find("topk 4 exceeds E 2"), std::string::npos);
  EXPECT_NE(message("linear NK=8x8 M=1 scheme=a compute=fp16").find("compute must be"), std::string::npos);
  EXPECT_NE(message("# only comments\n").find("no problems"), std::string::npos);
  EXPECT_NE(message("linear NK=8x8 M=1 scheme").find("not key=value"), std::string::npos);
}

TEST(ProblemList, ShippedListsParse) {
  for (const char* name : {"decode", "prefill", "moe", "schemes", "targets", "ark", "quick"}) {
    SCOPED_TRACE(name);
    const auto ps = read_problem_file(find_problem_file(name));
    EXPECT_FALSE(ps.empty());
    for (const auto& p : ps) EXPECT_NO_THROW(resolve_scheme(p.scheme)) << p.source << " " << p.scheme;
  }
}

TEST(SchemeNames, ResolveThroughTheHostConfig) {
  const auto s = resolve_scheme("int4_g128").layer.scheme;
  EXPECT_EQ(s.family, INCQ_FAMILY_INT);
  EXPECT_EQ(s.bits, 4);
  EXPECT_EQ(s.group_size, 128);
  EXPECT_EQ(s.sym, 1);
  EXPECT_EQ(s.packing, INCQ_PACKING_GPTQ_V1);
  EXPECT_EQ(s.act_bits, 16);
  const auto a = resolve_scheme("int3_gch_asym_v2").layer.scheme;
  EXPECT_EQ(a.bits, 3);
  EXPECT_EQ(a.group_size, -1);
  EXPECT_EQ(a.sym, 0);
  EXPECT_EQ(a.packing, INCQ_PACKING_GPTQ_V2);
  EXPECT_EQ(resolve_scheme("int4_g32_asym_awq").layer.scheme.packing, INCQ_PACKING_AWQ);
  const auto w = resolve_scheme("w4a8_g128").layer.scheme;
  EXPECT_EQ(w.act_bits, 8);
  EXPECT_EQ(w.act_dynamic, 1);
  EXPECT_EQ(resolve_scheme("fp8_e4m3_ch").layer.scheme.family, INCQ_FAMILY_FP8);
  EXPECT_EQ(resolve_scheme("fp8_e5m2_ch").layer.scheme.weight_dtype, INCQ_DTYPE_F8_E5M2);
  EXPECT_EQ(resolve_scheme("mxfp4").layer.scheme.family, INCQ_FAMILY_MX_FP);
  EXPECT_EQ(resolve_scheme("nvfp4_a4").layer.scheme.family, INCQ_FAMILY_NV_FP);
  EXPECT_EQ(resolve_scheme("mxint4_a4").layer.scheme.family, INCQ_FAMILY_MX_INT);
  for (const auto& n : example_scheme_names()) EXPECT_NO_THROW(resolve_scheme(n)) << n;
  try {
    resolve_scheme("int5_g128");
    FAIL() << "int5 accepted";
  } catch (const incq::host::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown scheme 'int5_g128'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("fp8_e4m3_ch"), std::string::npos);  // lists the known names
  }
}

TEST(SynthLayer, LinearBundleHoldsTheCheckpointTensorsAndBytes) {
  Problem p = parse_problems("linear NK=96x256 M=1 scheme=int4_g128_asym", "t").front();
  const auto L = synthesize_layer(p, INCQ_DTYPE_BF16, 3);
  EXPECT_EQ(L->desc.module_kind, INCQ_MODULE_LINEAR);
  EXPECT_EQ(L->desc.in_features, 256);
  EXPECT_EQ(L->desc.out_features, 96);
  EXPECT_EQ(L->desc.act_dtype, INCQ_DTYPE_BF16);
  EXPECT_EQ(L->packing, INCQ_PACKING_GPTQ_V1);
  std::set<std::string> names;
  for (const auto& t : L->bundle) names.insert(t.name);
  EXPECT_EQ(names, (std::set<std::string>{"qweight", "qzeros", "scales"}));
  // qweight [256*4/32, 96] I32 + qzeros [2, 96*4/32] I32 + scales [2, 96] F16.
  EXPECT_EQ(L->bytes_per_copy, 32u * 96 * 4 + 2u * 12 * 4 + 2u * 96 * 2);
}

TEST(SynthLayer, MoeBundleNamesEveryExpertProjection) {
  Problem p = parse_problems("moe E=6 topk=2 H=128 I=64 T=1 scheme=fp8_e4m3_ch", "t").front();
  const auto L = synthesize_layer(p, INCQ_DTYPE_BF16, 3);
  EXPECT_EQ(L->desc.module_kind, INCQ_MODULE_MOE);
  EXPECT_EQ(L->desc.num_experts, 6);
  EXPECT_EQ(L->desc.top_k, 2);
  std::set<std::string> names;
  for (const auto& t : L->bundle) names.insert(t.name);
  for (int e = 0; e < 6; ++e)
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
      EXPECT_TRUE(names.count(std::to_string(e) + "." + proj + ".weight")) << e << proj;
      EXPECT_TRUE(names.count(std::to_string(e) + "." + proj + ".weight_scale")) << e << proj;
    }
  EXPECT_EQ(names.size(), 6u * 3 * 2);
  // FP8 per channel: e4m3 weight [N, K] + one BF16 scale per output channel, three projections.
  EXPECT_EQ(L->bytes_per_expert, 2u * (64 * 128 + 64 * 2) + (128 * 64 + 128 * 2));
  EXPECT_EQ(L->bytes_per_copy, 6 * L->bytes_per_expert);
}
