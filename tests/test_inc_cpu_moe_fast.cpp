// Differential tests of the fast MoE driver (moe_fast_driver.hpp) through its FP8 implementation
// (inc_cpu.avx512.fp8_moe) against the reference (inc_cpu.ref.fp8_moe): decode and prefill token
// counts (several token chunks included), repeated and empty experts, every FP8 granularity, W8A8,
// bias, every activation dtype, and bad routing refused before anything is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bundle_tensors.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "fp8_experts.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

using namespace float_fast_test;
using ::testing::HasSubstr;

namespace {

constexpr const char* kLayer = "model.layers.2.mlp.experts";

bool fast_cpu() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"); }

struct Fp8MoeScheme {
  int32_t wdtype = INCQ_DTYPE_F8_E4M3;
  int32_t packing = INCQ_PACKING_FP8;
  int32_t group = -1;
  int32_t block_n = 0, block_k = 0;
  int32_t act_bits = 16;
  bool bias = false;
};

uint8_t code(Rng& r, int32_t dtype) {
  for (;;) {
    const uint8_t c = static_cast<uint8_t>(r.integer(0, 255));
    if (dtype == INCQ_DTYPE_F8_E4M3 && ((c & 0x7F) == 0x7F || ((c >> 3) & 15) > 9)) continue;  // NaN; keep |w| < 8
    if (dtype == INCQ_DTYPE_F8_E5M2 && ((c >> 2) & 31) > 17) continue;
    return c;
  }
}

void add_matrix(BundleBuilder& b, const std::string& p, int64_t K, int64_t N, const Fp8MoeScheme& s, Rng& r) {
  std::vector<uint8_t> codes(static_cast<size_t>(N * K));
  for (auto& c : codes) c = code(r, s.wdtype);
  b.add(p + "weight", s.wdtype, {N, K}, codes);
  std::vector<int64_t> shape;
  std::string name = p + "weight_scale";
  if (s.packing == INCQ_PACKING_FP8_BLOCK) {
    shape = {(N + s.block_n - 1) / s.block_n, (K + s.block_k - 1) / s.block_k};
    name = p + "weight_scale_inv";
  } else if (s.group == 0) {
    shape = {1};
  } else if (s.group == -1) {
    shape = {N};
  } else {
    shape = {N, (K + s.group - 1) / s.group};
  }
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> sc(static_cast<size_t>(count));
  for (float& v : sc) v = random_scale(r) / 8;
  add_floats(b, name, INCQ_DTYPE_BF16, shape, sc);
  if (s.bias) {
    std::vector<float> bias(static_cast<size_t>(N));
    for (float& v : bias) v = static_cast<float>(r.uniform(-0.5, 0.5));
    add_floats(b, p + "bias", INCQ_DTYPE_F32, {N}, bias);
  }
}

incq_layer_desc moe_desc(const Fp8MoeScheme& s, int32_t act_dtype, int64_t E, int64_t H, int64_t I, int32_t top_k) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_MOE;
  d.name = kLayer;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_FP8;
  d.scheme.bits = 8;
  d.scheme.group_size = s.packing == INCQ_PACKING_FP8_BLOCK ? 0 : s.group;
  d.scheme.sym = 1;
  d.scheme.packing = s.packing;
  d.scheme.act_bits = s.act_bits;
  d.scheme.act_dynamic = s.act_bits == 8;
  d.scheme.weight_dtype = s.wdtype;
  d.scheme.block_n = s.block_n;
  d.scheme.block_k = s.block_k;
  d.scheme.act_family = s.act_bits == 8 ? INCQ_FAMILY_FP8 : INCQ_FAMILY_DENSE;
  d.scheme.act_group_size = s.act_bits == 8 ? 32 : 0;
  d.scheme.act_sym = 1;
  d.act_dtype = act_dtype;
  d.has_bias = s.bias;
  d.num_experts = E;
  d.hidden_size = H;
  d.intermediate_size = I;
  d.top_k = top_k;
  return d;
}

void check_fp8_moe(const Fp8MoeScheme& s, int32_t act_dtype, int64_t T, int64_t E, int64_t H, int64_t I,
                   int32_t top_k, uint32_t seed) {
  SCOPED_TRACE("T=" + std::to_string(T) + " E=" + std::to_string(E) + " H=" + std::to_string(H) + " I=" +
               std::to_string(I) + " top_k=" + std::to_string(top_k) + " group " + std::to_string(s.group) +
               " act_bits " + std::to_string(s.act_bits) + " act " + incq::dtype_name(act_dtype));
  Rng r(seed);
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = std::to_string(e) + ".";
    add_matrix(b, p + "gate_proj.", H, I, s, r);
    add_matrix(b, p + "up_proj.", H, I, s, r);
    add_matrix(b, p + "down_proj.", I, H, s, r);
  }
  const incq_layer_desc d = moe_desc(s, act_dtype, E, H, I, top_k);
  Activations x(act_dtype, T, H, H + 1);
  fill_activations(x, r, false);
  std::vector<int32_t> ids;
  std::vector<float> wts;
  make_routing(T, E, top_k, r, &ids, &wts);
  Activations y_ref(act_dtype, T, H), y_fast(act_dtype, T, H, H + 2);
  std::string msg;
  ASSERT_EQ(run_moe("inc_cpu.ref.fp8_moe", d, b.bundle(s.packing), x, ids, wts, y_ref, &msg), INCQ_OK) << msg;
  ASSERT_EQ(run_moe("inc_cpu.avx512.fp8_moe", d, b.bundle(s.packing), x, ids, wts, y_fast, &msg), INCQ_OK) << msg;

  incq::inc_cpu::BundleTensors bt(b.bundle(s.packing), kLayer);
  const incq::inc_cpu::Fp8Experts ex = incq::inc_cpu::load_fp8_experts(
      bt, kLayer, E, H, I, incq::inc_cpu::Fp8Format{s.wdtype, s.packing, s.group, s.block_n, s.block_k}, s.bias);
  auto mat = [&](int e, Proj p) -> const incq::inc_cpu::Fp8Matrix& {
    const size_t i = static_cast<size_t>(e);
    return p == Proj::Gate ? ex.gate[i] : p == Proj::Up ? ex.up[i] : ex.down[i];
  };
  const std::vector<double> mag = moe_magnitudes(
      x, H, I, ids, wts, top_k, [&](int e, Proj p, int64_t n, int64_t k) { return mat(e, p).weight_at(n, k); },
      [&](int e, Proj p, int64_t n) { return mat(e, p).bias_at(n); }, s.act_bits == 8 ? 2.0 : 1.0);
  EXPECT_EQ(compare(y_fast, y_ref, mag, incq::inc_cpu::kFloatFastTolerance, 1e-11), "");
}

class MoeFast : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fast_cpu()) GTEST_SKIP() << "this CPU lacks AVX-512 F/BW/VL/DQ: the fast kernels are not registered for it";
  }
};

TEST_F(MoeFast, Fp8DecodeAndPrefillTokenCounts) {
  Fp8MoeScheme s;
  s.group = 32;
  uint32_t seed = 1;
  for (int64_t T : {1, 2, 3, 7, 16, 33}) check_fp8_moe(s, INCQ_DTYPE_BF16, T, 6, 96, 80, 3, seed++);
}

TEST_F(MoeFast, Fp8EveryGranularityDtypeAndBias) {
  uint32_t seed = 50;
  std::vector<Fp8MoeScheme> schemes(6);
  schemes[0].group = 0;
  schemes[1].group = -1;
  schemes[1].wdtype = INCQ_DTYPE_F8_E5M2;
  schemes[2].group = 48;
  schemes[2].bias = true;
  schemes[3].packing = INCQ_PACKING_FP8_BLOCK, schemes[3].block_n = 32, schemes[3].block_k = 32;
  schemes[4].packing = INCQ_PACKING_FP8_BLOCK, schemes[4].block_n = 16, schemes[4].block_k = 64;
  schemes[4].act_bits = 8;
  schemes[5].group = 32, schemes[5].act_bits = 8, schemes[5].bias = true;
  int i = 0;
  for (const auto& s : schemes) {
    const int32_t act = i % 3 == 0 ? INCQ_DTYPE_F32 : i % 3 == 1 ? INCQ_DTYPE_F16 : INCQ_DTYPE_BF16;
    ++i;
    for (int64_t T : {1, 5}) check_fp8_moe(s, act, T, 5, 70, 50, 2, seed++);
  }
}

TEST_F(MoeFast, Fp8ManyTokensSpanSeveralChunks) {
  // 8 MiB of scratch per chunk at H = 2048, I = 32, top-8 holds ~62 tokens: 130 tokens need 3
  // (a wide H and a narrow I keep the reference's cost small).
  Fp8MoeScheme s;
  s.group = 128;
  check_fp8_moe(s, INCQ_DTYPE_BF16, 130, 9, 2048, 32, 8, 99);
}

TEST_F(MoeFast, BadExpertIdRefusedBeforeWriting) {
  Fp8MoeScheme s;
  Rng r(5);
  BundleBuilder b;
  for (int e = 0; e < 3; ++e) {
    const std::string p = std::to_string(e) + ".";
    add_matrix(b, p + "gate_proj.", 32, 16, s, r);
    add_matrix(b, p + "up_proj.", 32, 16, s, r);
    add_matrix(b, p + "down_proj.", 16, 32, s, r);
  }
  const incq_layer_desc d = moe_desc(s, INCQ_DTYPE_F32, 3, 32, 16, 2);
  Activations x(INCQ_DTYPE_F32, 2, 32);
  fill_activations(x, r);
  std::vector<int32_t> ids = {0, 1, 2, 3};
  std::vector<float> wts = {0.5f, 0.5f, 0.5f, 0.5f};
  Activations y(INCQ_DTYPE_F32, 2, 32);
  for (int64_t n = 0; n < 32; ++n) y.set(0, n, 7.0);
  std::string msg;
  EXPECT_EQ(run_moe("inc_cpu.avx512.fp8_moe", d, b.bundle(s.packing), x, ids, wts, y, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("topk_ids[1, 1] = 3 is outside [0, 3)"));
  EXPECT_THAT(msg, HasSubstr(kLayer));
  for (int64_t n = 0; n < 32; ++n) EXPECT_EQ(y.get(0, n), 7.0);
}

}  // namespace
