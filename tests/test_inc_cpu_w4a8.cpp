// Tests of inc_cpu's reference W4A8 path (inc_cpu.ref.w4a8_int_linear / w4a8_int_moe): the int8
// activation quantizer (ties, zero rows), a Linear computed by hand, the int32 group accumulation,
// sweeps against a test-side oracle that quantizes x by the contract (docs/formats.md §3 INT) and
// sums in long double, can_implement reasons, g_idx, MoE corner cases and threads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "act_quant_int8.hpp"
#include "inc_cpu_plugin_harness.hpp"
#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

using namespace inc_cpu_harness;
using ::testing::HasSubstr;

namespace {

constexpr const char* kLinear = "inc_cpu.ref.w4a8_int_linear";
constexpr const char* kMoe = "inc_cpu.ref.w4a8_int_moe";

// ---------------------------------------------------------------- test-side int4 matrix
// Codes are the signed weights v = q_w - 8 in [-8, 7]; packed by the test as GPTQ 4-bit (DESIGN §4):
// qweight [K/8, N], code of row k in bits (k % 8) * 4 of word k / 8; qzeros [G, N/8] hold the
// symmetric zero 8 (v2) or 8 - 1 (v1).
struct W4Matrix {
  int64_t K = 0, N = 0, G = 32;
  int32_t packing = INCQ_PACKING_GPTQ_V2;
  std::vector<int> v;          // [K][N], q_w - 8
  std::vector<float> scale;    // [K/G][N], fp16-exact
  std::vector<float> bias;     // empty or [N]
  bool with_g_idx = false;

  double w(int64_t k, int64_t n) const { return double(scale[(k / G) * N + n]) * v[k * N + n]; }

  void add_to(BundleBuilder& b, const std::string& prefix) const {
    std::vector<int32_t> qweight(K / 8 * N, 0), qzeros;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        qweight[(k / 8) * N + n] |= int32_t(uint32_t(v[k * N + n] + 8) << ((k % 8) * 4));
    const uint32_t zero_word = packing == INCQ_PACKING_GPTQ_V1 ? 0x77777777u : 0x88888888u;
    for (int64_t i = 0; i < K / G * N / 8; ++i) qzeros.push_back(int32_t(zero_word));
    std::vector<uint16_t> scales;
    for (float s : scale) scales.push_back(incq::float_to_half(s));
    b.add(prefix + "qweight", INCQ_DTYPE_I32, {K / 8, N}, qweight);
    b.add(prefix + "qzeros", INCQ_DTYPE_I32, {K / G, N / 8}, qzeros);
    b.add(prefix + "scales", INCQ_DTYPE_F16, {K / G, N}, scales);
    if (with_g_idx) {
      std::vector<int32_t> g(K);
      for (int64_t k = 0; k < K; ++k) g[k] = int32_t(k / G);
      b.add(prefix + "g_idx", INCQ_DTYPE_I32, {K}, g);
    }
    if (!bias.empty()) b.add(prefix + "bias", INCQ_DTYPE_F32, {N}, bias);
  }
};

W4Matrix random_w4(int64_t K, int64_t N, int64_t G, int32_t packing, bool bias, uint32_t seed) {
  std::mt19937 rng(seed);
  W4Matrix m;
  m.K = K, m.N = N, m.G = G, m.packing = packing;
  for (int64_t i = 0; i < K * N; ++i) m.v.push_back(int(rng() % 16) - 8);
  for (int64_t i = 0; i < K / G * N; ++i)
    m.scale.push_back(incq::half_to_float(incq::float_to_half(float(int(rng() % 2001) - 1000) / 8192.0f)));
  if (bias)
    for (int64_t n = 0; n < N; ++n) m.bias.push_back(float(int(rng() % 200) - 100) / 16.0f);
  return m;
}

incq_layer_desc w4a8_desc(const W4Matrix& m, int32_t act_dtype, int act_bits = 8) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = "model.layers.1.self_attn.o_proj";
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = 4;
  d.scheme.group_size = int32_t(m.G);
  d.scheme.sym = 1;
  d.scheme.packing = m.packing;
  d.scheme.act_bits = act_bits;
  d.scheme.has_g_idx = m.with_g_idx ? 1 : 0;
  if (act_bits == 8) {
    d.scheme.act_dynamic = 1;
    d.scheme.act_family = INCQ_FAMILY_INT;
    d.scheme.act_group_size = -1;
    d.scheme.act_sym = 1;
  }
  d.act_dtype = act_dtype;
  d.has_bias = m.bias.empty() ? 0 : 1;
  d.in_features = m.K;
  d.out_features = m.N;
  return d;
}

// x' of one row per the contract, written again here: s = fp32(max|x| / 127), q = clamp(RNE(fp32(x/s))).
std::vector<double> truth_quantize_int8(const std::vector<float>& x) {
  float a = 0;
  for (float v : x) a = std::max(a, std::fabs(v));
  const float s = a / 127.0f;
  std::vector<double> out(x.size(), 0.0);
  if (s == 0.0f) return out;
  for (size_t k = 0; k < x.size(); ++k) {
    const float r = x[k] / s;
    double q = std::floor(double(r));
    const double frac = double(r) - q;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(q, 2.0) != 0.0)) q += 1.0;  // ties to even, by hand
    q = std::min(127.0, std::max(-128.0, q));
    out[k] = q * double(s);
  }
  return out;
}

std::vector<float> fill(Activations& x, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> values;
  for (int64_t m = 0; m < x.rows; ++m)
    for (int64_t k = 0; k < x.cols; ++k)
      values.push_back(float(x.set(m, k, double(int(rng() % 4001) - 2000) / 613.0)));
  return values;
}

void oracle(const W4Matrix& w, const std::vector<float>& x, int64_t M, bool quantize, std::vector<double>& y,
            std::vector<double>& mag) {
  y.assign(M * w.N, 0.0);
  mag.assign(M * w.N, 0.0);
  for (int64_t m = 0; m < M; ++m) {
    const std::vector<float> row(x.begin() + m * w.K, x.begin() + (m + 1) * w.K);
    const std::vector<double> xq = quantize ? truth_quantize_int8(row) : std::vector<double>(row.begin(), row.end());
    for (int64_t n = 0; n < w.N; ++n) {
      long double acc = 0, a = 0;
      for (int64_t k = 0; k < w.K; ++k) {
        const long double p = (long double)xq[k] * w.w(k, n);
        acc += p, a += std::fabs(p);
      }
      const double b = w.bias.empty() ? 0.0 : w.bias[n];
      y[m * w.N + n] = double(acc + b);
      mag[m * w.N + n] = double(a + std::fabs(b));
    }
  }
}

double expect_within(const Activations& y, const std::vector<double>& ref, const std::vector<double>& mag, double tol) {
  double worst = 0;
  for (int64_t m = 0; m < y.rows; ++m)
    for (int64_t n = 0; n < y.cols; ++n) {
      const size_t i = size_t(m * y.cols + n);
      const double err = std::fabs(y.get(m, n) - ref[i]);
      const double bound = tol * mag[i] + std::max(unit_roundoff(y.dtype) * (std::fabs(ref[i]) + tol * mag[i]),
                                                   half_smallest_subnormal(y.dtype));
      EXPECT_LE(err, bound) << "y[" << m << ", " << n << "] = " << y.get(m, n) << ", oracle " << ref[i];
      if (mag[i] > 0) worst = std::max(worst, err / mag[i]);
    }
  return worst;
}

#define REQUIRE_W4A8_IMPLS()                                                                         \
  ASSERT_NE(initialized_plugin(), nullptr) << "cannot load " << plugin_path() << ": " << dlerror(); \
  ASSERT_NE(find_impl(kLinear), nullptr);                                                           \
  ASSERT_NE(find_impl(kMoe), nullptr)

// A loaded layer for w.
struct Loaded {
  BundleBuilder b;
  Layer layer;
  Loaded(const W4Matrix& w, int32_t act, int act_bits = 8) : layer(find_impl(kLinear), w4a8_desc(w, act, act_bits)) {
    EXPECT_EQ(layer.status, INCQ_OK) << layer.message;
    w.add_to(b, "");
    EXPECT_EQ(layer.load(b.bundle(w.packing)), INCQ_OK) << layer.message;
  }
};

}  // namespace

// ================================================================ the quantizer

TEST(W4a8Quant, TiesToEvenAndScale) {
  // a = 254 -> s = 2 exactly; x/s = 127, 0.5, 1.5, -2.5, 2.5, 3.5, -0.5 -> 127, 0, 2, -2, 2, 4, 0.
  const float x[7] = {254.0f, 1.0f, 3.0f, -5.0f, 5.0f, 7.0f, -1.0f};
  int8_t q[7];
  EXPECT_EQ(incq::inc_cpu::quantize_row_int8(x, 7, q), 2.0f);
  const int8_t expected[7] = {127, 0, 2, -2, 2, 4, 0};
  for (int k = 0; k < 7; ++k) EXPECT_EQ(q[k], expected[k]) << k;
}

TEST(W4a8Quant, ZeroRowHasScaleZeroAndCodesZero) {
  const float x[5] = {0.0f, -0.0f, 0.0f, 0.0f, 0.0f};
  int8_t q[5] = {1, 1, 1, 1, 1};
  EXPECT_EQ(incq::inc_cpu::quantize_row_int8(x, 5, q), 0.0f);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(q[k], 0);
}

TEST(W4a8Quant, AgreesWithTheContractOnASweep) {
  std::mt19937 rng(5);
  for (int row = 0; row < 200; ++row) {
    std::vector<float> x(37);
    for (auto& v : x) v = float(int(rng() % 20001) - 10000) / float(1 + rng() % 977);
    std::vector<int8_t> q(x.size());
    const float s = incq::inc_cpu::quantize_row_int8(x.data(), int64_t(x.size()), q.data());
    const std::vector<double> truth = truth_quantize_int8(x);
    for (size_t k = 0; k < x.size(); ++k) EXPECT_EQ(double(q[k]) * double(s), truth[k]) << row << ", " << k;
  }
}

// ================================================================ Linear by hand

// K = 32, N = 8, one group. x row 0 = [254, 1, 3, -5, 7, 0...]: s_x = 2, q_x = [127, 0, 2, -2, 4, 0...].
// Column 0: v = 1 for k < 5, scale 0.5: acc = 127 + 0 + 2 - 2 + 4 = 131, y = 131 * 2 * 0.5 = 131.
// Column 1: v = [-8, 7, 0, 3, -1], scale 0.25: acc = -1016 + 0 + 0 - 6 - 4 = -1026, y = -513.
// Columns 2..7: v = 0, y = bias = 0.5 * n. Row 1 is all zeros (s_x = 0): y = bias.
TEST(W4a8Linear, HandComputedK32N8) {
  REQUIRE_W4A8_IMPLS();
  W4Matrix w;
  w.K = 32, w.N = 8, w.G = 32;
  w.v.assign(32 * 8, 0);
  for (int k = 0; k < 5; ++k) w.v[k * 8 + 0] = 1;
  const int col1[5] = {-8, 7, 0, 3, -1};
  for (int k = 0; k < 5; ++k) w.v[k * 8 + 1] = col1[k];
  w.scale = {0.5f, 0.25f, 1, 1, 1, 1, 1, 1};
  for (int n = 0; n < 8; ++n) w.bias.push_back(0.5f * n);
  for (int32_t packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2}) {
    w.packing = packing;
    Loaded l(w, INCQ_DTYPE_F32);
    Activations x(INCQ_DTYPE_F32, 2, 32), y(INCQ_DTYPE_F32, 2, 8);
    const float row0[5] = {254, 1, 3, -5, 7};
    for (int k = 0; k < 5; ++k) x.set(0, k, row0[k]);
    std::string msg;
    ASSERT_EQ(apply_linear(l.layer, x, y, &msg), INCQ_OK) << msg;
    EXPECT_EQ(y.get(0, 0), 131.0);
    EXPECT_EQ(y.get(0, 1), -513.0 + 0.5);
    for (int n = 2; n < 8; ++n) EXPECT_EQ(y.get(0, n), 0.5 * n) << n;
    for (int n = 0; n < 8; ++n) EXPECT_EQ(y.get(1, n), 0.5 * n) << "zero row: bias only, no NaN";
  }
}

// x / s_x exactly .5: s_x = 2, x = [254, 1, 3, 5, -1] -> q = [127, 0, 2, 2, 0] (ties to even; ties
// away from zero would give [127, 1, 2, 3, -1]). Weights all v = 1, scale 1: y = 2 * 131 = 262.
TEST(W4a8Linear, TieRoundingThroughTheLayer) {
  REQUIRE_W4A8_IMPLS();
  W4Matrix w;
  w.K = 32, w.N = 8, w.G = 32;
  w.v.assign(32 * 8, 1);
  w.scale.assign(8, 1.0f);
  Loaded l(w, INCQ_DTYPE_BF16);
  Activations x(INCQ_DTYPE_BF16, 1, 32), y(INCQ_DTYPE_BF16, 1, 8);
  const float row[5] = {254, 1, 3, 5, -1};
  for (int k = 0; k < 5; ++k) x.set(0, k, row[k]);
  ASSERT_EQ(apply_linear(l.layer, x, y), INCQ_OK);
  for (int n = 0; n < 8; ++n) EXPECT_EQ(y.get(0, n), 262.0) << n;
}

// The int32 group sums at their extreme (every q_x = -127, every v = -8, G = 256): acc = 260096 per
// group, exactly; y = 2 groups * 260096 * s_x * s_w.
TEST(W4a8Linear, Int32AccumulationIsTheExactProductSum) {
  REQUIRE_W4A8_IMPLS();
  W4Matrix w;
  w.K = 512, w.N = 8, w.G = 256;
  w.v.assign(512 * 8, -8);
  w.scale.assign(2 * 8, 0.125f);
  Loaded l(w, INCQ_DTYPE_F32);
  Activations x(INCQ_DTYPE_F32, 1, 512), y(INCQ_DTYPE_F32, 1, 8);
  for (int k = 0; k < 512; ++k) x.set(0, k, -1.0);
  ASSERT_EQ(apply_linear(l.layer, x, y), INCQ_OK);
  const float s_x = 1.0f / 127.0f;
  // -1 / s_x rounds to -127 (s_x is 1/127 rounded): q = -127; acc = (-127) * (-8) * 256.
  const double expected = 2.0 * (260096.0 * double(s_x) * 0.125);
  for (int n = 0; n < 8; ++n) EXPECT_EQ(y.get(0, n), double(float(expected))) << n;
}

// ================================================================ sweeps against the oracle

TEST(W4a8Linear, SweepGroupsPackingsRowsAndDtypes) {
  REQUIRE_W4A8_IMPLS();
  uint32_t seed = 40;
  const incq_exec pool = halving_exec();
  for (const auto& [K, N, G] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {64, 8, 32}, {128, 72, 64}, {256, 24, 128}, {256, 136, 256}})
    for (int32_t packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2})
      for (int32_t act : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
        for (int64_t M : {1, 3, 17}) {
          SCOPED_TRACE("K " + std::to_string(K) + " N " + std::to_string(N) + " G " + std::to_string(G) +
                       " packing " + std::to_string(packing) + " act " + std::to_string(act) + " M " +
                       std::to_string(M));
          const W4Matrix w = random_w4(K, N, G, packing, M != 3, seed++);
          Loaded l(w, act);
          Activations x(act, M, K, K + 5), y(act, M, N);
          const std::vector<float> xv = fill(x, seed);
          std::string msg;
          ASSERT_EQ(apply_linear(l.layer, x, y, &msg, M == 17 ? &pool : nullptr), INCQ_OK) << msg;
          std::vector<double> ref, mag;
          oracle(w, xv, M, true, ref, mag);
          expect_within(y, ref, mag, find_impl(kLinear)->tolerance);
        }
}

// A W4A16 layer run through W4A8 (act_bits 16, chosen by the user): the same quantized result, and
// measurably different from the exact weight-only answer (the lossy step is real).
// W4A8 against the exact weight-only result: the per-token int8 step is the one lossy step, and it
// stays within its bound (|x - x'| <= s_x / 2 per element).
TEST(W4a8Linear, DiffersFromW4A16OnlyByTheActivationStep) {
  REQUIRE_W4A8_IMPLS();
  const W4Matrix w = random_w4(128, 16, 32, INCQ_PACKING_GPTQ_V2, false, 9);
  Loaded l8(w, INCQ_DTYPE_F32, 8);
  Activations x(INCQ_DTYPE_F32, 4, 128), y8(INCQ_DTYPE_F32, 4, 16);
  const std::vector<float> xv = fill(x, 3);
  ASSERT_EQ(apply_linear(l8.layer, x, y8), INCQ_OK);
  std::vector<double> exact, mag;
  oracle(w, xv, 4, false, exact, mag);
  double worst = 0;
  for (int64_t i = 0; i < 64; ++i) worst = std::max(worst, std::fabs(y8.get(i / 16, i % 16) - exact[i]) / mag[i]);
  EXPECT_GT(worst, 1e-5);
  EXPECT_LT(worst, 1.0 / 127);  // |x - x'| <= s_x / 2 per element: at most (max|x| / 254) sum|w|
  RecordProperty("w4a8_vs_w4a16_worst_relative", std::to_string(worst));
}

// ================================================================ can_implement, weights, arguments

TEST(W4a8Impl, DescriptorsAndPriority) {
  REQUIRE_W4A8_IMPLS();
  const incq_impl_desc* wo = find_impl("inc_cpu.ref.int_wo_linear");
  ASSERT_NE(wo, nullptr);
  for (const char* name : {kLinear, kMoe}) {
    const incq_impl_desc* d = find_impl(name);
    EXPECT_EQ(d->family, INCQ_FAMILY_INT) << name;
    EXPECT_EQ(d->bits_mask, INCQ_BIT(4));
    EXPECT_EQ(d->sym_mask, 0x2u);
    EXPECT_EQ(d->packing_mask, INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2));
    EXPECT_LT(d->priority, wo->priority) << "must never win automatic selection over the exact W4A16 path";
    EXPECT_LE(d->tolerance, 1e-10);
  }
}

TEST(W4a8Impl, CanImplementReasons) {
  REQUIRE_W4A8_IMPLS();
  const incq_impl_desc* L = find_impl(kLinear);
  const W4Matrix w = random_w4(128, 64, 32, INCQ_PACKING_GPTQ_V2, false, 1);
  const incq_layer_desc base = w4a8_desc(w, INCQ_DTYPE_BF16);
  auto with = [&](auto change) {
    incq_layer_desc d = base;
    change(d);
    return why_not(L, d);
  };
  EXPECT_EQ(why_not(L, base), "OK");
  // A weight-only layer is never taken silently: the user opts in through the host's act_quant.
  EXPECT_THAT(with([](auto& d) { d.scheme.act_bits = 16; d.scheme.act_family = INCQ_FAMILY_DENSE; }),
              HasSubstr("for a W4A16 checkpoint select it with the host's act_quant int8 / --act-quant int8"));
  EXPECT_EQ(with([](auto& d) { d.scheme.group_size = 128; }), "OK");
  EXPECT_EQ(with([](auto& d) { d.scheme.packing = INCQ_PACKING_GPTQ_V1; d.act_dtype = INCQ_DTYPE_F32; }), "OK");
  EXPECT_THAT(with([](auto& d) { d.scheme.sym = 0; }),
              HasSubstr("asymmetric weights not supported (W4A8 takes symmetric int4: zero = 8)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.bits = 8; }), HasSubstr("bits = 8 not supported (W4A8 takes 4-bit weights)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.packing = INCQ_PACKING_AWQ; }),
              HasSubstr("packing AWQ not supported (GPTQ_V1, GPTQ_V2)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.group_size = 48; }),
              HasSubstr("group_size = 48 not supported (a positive multiple of 32)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.group_size = -1; }), HasSubstr("group_size = -1 not supported"));
  EXPECT_THAT(with([](auto& d) { d.scheme.group_size = 96; }),
              HasSubstr("group_size 96 must divide K (K = 128, N = 64"));
  EXPECT_THAT(with([](auto& d) { d.out_features = 60; }),
              HasSubstr("in and out sizes must be multiples of 8 (K = 128, N = 60)"));
  EXPECT_THAT(with([](auto& d) { d.act_dtype = INCQ_DTYPE_F64; }), HasSubstr("activation dtype F64 not supported"));
  EXPECT_THAT(with([](auto& d) { d.scheme.act_bits = 4; }), HasSubstr("act_bits = 4 not supported"));
  EXPECT_THAT(with([](auto& d) { d.scheme.act_family = INCQ_FAMILY_FP8; }),
              HasSubstr("act_bits = 8 with activation family FP8 not supported (INT only)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.act_group_size = 128; }),
              HasSubstr("act_group_size = 128 not supported (per token: -1)"));
  EXPECT_THAT(with([](auto& d) { d.scheme.act_dynamic = 0; }), HasSubstr("static activation scales not supported"));
  EXPECT_THAT(with([](auto& d) { d.scheme.family = INCQ_FAMILY_FP8; }), HasSubstr("scheme family FP8 not supported"));
  EXPECT_THAT(with([](auto& d) { d.module_kind = INCQ_MODULE_MOE; }), HasSubstr("not a Linear layer"));
  EXPECT_THAT(why_not(find_impl(kMoe), base), HasSubstr("not a MoE layer"));
}

TEST(W4a8Impl, GIdxMustBeContiguousGroups) {
  REQUIRE_W4A8_IMPLS();
  W4Matrix w = random_w4(64, 8, 32, INCQ_PACKING_GPTQ_V2, false, 2);
  w.with_g_idx = true;
  {
    Loaded plain(w, INCQ_DTYPE_F32);  // g_idx = k / G, as AutoRound writes it: accepted
    EXPECT_EQ(plain.layer.status, INCQ_OK);
  }
  Layer layer(find_impl(kLinear), w4a8_desc(w, INCQ_DTYPE_F32));
  BundleBuilder b;
  w.add_to(b, "");
  static_cast<int32_t*>(b.tensor("g_idx").data)[3] = 1;
  EXPECT_EQ(layer.load(b.bundle(w.packing)), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(layer.message, HasSubstr("layer 'model.layers.1.self_attn.o_proj': tensor 'g_idx' [3] = 1, but W4A8 "
                                       "needs contiguous groups (0)"));
}

TEST(W4a8Impl, WrongSymmetricZeroAndNonFiniteActivations) {
  REQUIRE_W4A8_IMPLS();
  W4Matrix w = random_w4(64, 8, 32, INCQ_PACKING_GPTQ_V1, false, 3);
  {
    Layer layer(find_impl(kLinear), w4a8_desc(w, INCQ_DTYPE_F32));
    BundleBuilder b;
    W4Matrix v2 = w;
    v2.packing = INCQ_PACKING_GPTQ_V2;  // v2 zeros under a v1 declaration: zero reads 9
    v2.add_to(b, "");
    EXPECT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V1)), INCQ_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(layer.message, HasSubstr("decodes to zero 9 but symmetric 4-bit needs 8"));
  }
  Loaded l(w, INCQ_DTYPE_F16);
  Activations x(INCQ_DTYPE_F16, 3, 64), y(INCQ_DTYPE_F16, 3, 8);
  fill(x, 1);
  x.set(2, 63, INFINITY);
  std::string msg;
  EXPECT_EQ(apply_linear(l.layer, x, y, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("layer 'model.layers.1.self_attn.o_proj': x[2, 63] is Inf"));
  for (int64_t n = 0; n < 8; ++n) EXPECT_EQ(y.get(0, n), 0.0) << "nothing written on error";
}

TEST(W4a8Threads, ConcurrentApplyIsBitIdentical) {
  REQUIRE_W4A8_IMPLS();
  const W4Matrix w = random_w4(256, 72, 64, INCQ_PACKING_GPTQ_V2, true, 8);
  Loaded l(w, INCQ_DTYPE_BF16);
  Activations x(INCQ_DTYPE_BF16, 7, 256), first(INCQ_DTYPE_BF16, 7, 72);
  fill(x, 2);
  ASSERT_EQ(apply_linear(l.layer, x, first), INCQ_OK);
  std::vector<Activations> outs(6, Activations(INCQ_DTYPE_BF16, 7, 72));
  std::vector<incq_status> st(outs.size(), INCQ_ERR_INTERNAL);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outs.size(); ++i)
    threads.emplace_back([&, i] {
      Activations xi = x;
      for (int rep = 0; rep < 3; ++rep) st[i] = apply_linear(l.layer, xi, outs[i]);
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_EQ(st[i], INCQ_OK);
    EXPECT_EQ(outs[i].bytes, first.bytes) << "thread " << i;
  }
}

// ================================================================ MoE

TEST(W4a8Moe, RepeatedAndEmptyExperts) {
  REQUIRE_W4A8_IMPLS();
  const int64_t E = 4, H = 64, I = 32, T = 5;
  const int top_k = 2;
  std::vector<W4Matrix> gate, up, down;
  for (int64_t e = 0; e < E; ++e) {
    gate.push_back(random_w4(H, I, 32, INCQ_PACKING_GPTQ_V2, false, 100 + 3 * e));
    up.push_back(random_w4(H, I, 32, INCQ_PACKING_GPTQ_V2, false, 101 + 3 * e));
    down.push_back(random_w4(I, H, 32, INCQ_PACKING_GPTQ_V2, false, 102 + 3 * e));
  }
  incq_layer_desc d = w4a8_desc(gate[0], INCQ_DTYPE_F32);
  d.module_kind = INCQ_MODULE_MOE;
  d.name = "model.layers.0.mlp.experts";
  d.in_features = d.out_features = H;
  d.num_experts = E, d.hidden_size = H, d.intermediate_size = I, d.top_k = top_k;
  Layer layer(find_impl(kMoe), d);
  ASSERT_EQ(layer.status, INCQ_OK) << layer.message;
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = std::to_string(e) + ".";
    gate[e].add_to(b, p + "gate_proj.");
    up[e].add_to(b, p + "up_proj.");
    down[e].add_to(b, p + "down_proj.");
  }
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  // Expert 3 never chosen; token 1 picks expert 2 twice, token 4 expert 0 twice.
  const std::vector<int32_t> ids = {0, 1, 2, 2, 1, 0, 2, 1, 0, 0};
  const std::vector<float> wts = {0.75f, 0.25f, 0.5f, 0.5f, 0.125f, 0.875f, 1.0f, -0.5f, 0.25f, 0.5f};
  Activations x(INCQ_DTYPE_F32, T, H), out(INCQ_DTYPE_F32, T, H);
  const std::vector<float> xv = fill(x, 77);
  std::string msg;
  ASSERT_EQ(apply_moe(layer, x, ids, wts, top_k, out, &msg), INCQ_OK) << msg;

  // Oracle: per projection, quantize the (fp32-rounded) input by the contract, sum in long double.
  auto project = [](const W4Matrix& w, const std::vector<double>& in, std::vector<double>& r, std::vector<double>& a) {
    const std::vector<double> q = truth_quantize_int8(std::vector<float>(in.begin(), in.end()));
    r.assign(w.N, 0), a.assign(w.N, 0);
    for (int64_t n = 0; n < w.N; ++n) {
      long double acc = 0, s = 0;
      for (int64_t k = 0; k < w.K; ++k) acc += (long double)q[k] * w.w(k, n), s += std::fabs(q[k] * w.w(k, n));
      r[n] = double(acc), a[n] = double(s);
    }
  };
  const double tol = find_impl(kMoe)->tolerance;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> ref(H, 0.0), mag(H, 0.0);
    const std::vector<double> xt(xv.begin() + t * H, xv.begin() + (t + 1) * H);
    for (int j = 0; j < top_k; ++j) {
      const int e = ids[t * top_k + j];
      std::vector<double> g, u, dn, ga, ua, da;
      project(gate[e], xt, g, ga);
      project(up[e], xt, u, ua);
      std::vector<double> h(I);
      for (int64_t i = 0; i < I; ++i) h[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      project(down[e], h, dn, da);
      for (int64_t n = 0; n < H; ++n) ref[n] += wts[t * top_k + j] * dn[n], mag[n] += std::fabs(wts[t * top_k + j]) * da[n];
    }
    for (int64_t n = 0; n < H; ++n)
      EXPECT_LE(std::fabs(out.get(t, n) - ref[n]), tol * mag[n] + 0x1p-24 * std::fabs(ref[n]) + 1e-30)
          << "out[" << t << ", " << n << "]";
  }
}
