// AutoRound's RTN definition on hand-computed groups, the quantize -> dequantize error bound, and
// the double-precision Linear and MoE oracles on hand-computed cases plus the MoE error bound.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_order.hpp"
#include "quant/dequantize.hpp"
#include "quant/oracle.hpp"
#include "quant/rtn.hpp"

namespace q = incq::host::quant;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

namespace {

// fp16 bit patterns used below: 2^-6 0x2400, 2^-5 0x2800, 2^-3 0x3000, 2^-2 0x3400, 2^-1 0x3800;
// the sign bit is 0x8000. fp16(1e-5) is the subnormal 168 * 2^-24 = 0x00A8.
constexpr uint16_t kThresh = 0x00A8;

q::IntWeights rtn1(const std::vector<float>& col, int bits, bool sym) {
  return q::quantize_rtn(col.data(), static_cast<int64_t>(col.size()), 1, bits, -1, sym);
}

// ---- symmetric, full range ----

TEST(RtnSym, PositiveExtremeDominatesGivesNegativeScale) {
  // max 1.0 > |min| 0.25: scale = -1.0/8 = -0.125; w/scale = -4, 2, -8, -0.8 -> codes +8.
  const auto w = rtn1({0.5f, -0.25f, 1.0f, 0.1f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0xB000));
  EXPECT_THAT(w.zeros, ElementsAre(8));
  EXPECT_THAT(w.q, ElementsAre(4, 10, 0, 7));
}

TEST(RtnSym, NegativeExtremeDominatesGivesPositiveScale) {
  // |min| 1.0 > max 0.5: scale = +0.125; the dominant -1.0 lands on code 0 (= -8 + 8).
  const auto w = rtn1({-1.0f, 0.5f, 0.25f, 0.0f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0x3000));
  EXPECT_THAT(w.q, ElementsAre(0, 12, 10, 8));
}

TEST(RtnSym, TieUsesThePositiveExtremeAndClampsTheOther) {
  // |min| == max: not strictly smaller, so scale = -0.125; -1.0/-0.125 = 8 clamps to 7 (code 15).
  const auto w = rtn1({1.0f, -1.0f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0xB000));
  EXPECT_THAT(w.q, ElementsAre(0, 15));
  EXPECT_DOUBLE_EQ(q::dequantize(w)[1], -0.875);
}

TEST(RtnSym, RoundsHalfToEven) {
  // scale 0.125: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2.
  const auto w = rtn1({-1.0f, 0.0625f, 0.1875f, 0.3125f, -0.0625f, -0.1875f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0x3000));
  EXPECT_THAT(w.q, ElementsAre(0, 8, 10, 10, 8, 6));
}

TEST(RtnSym, DividesByTheFp16Scale) {
  // 0.3/8 = 0.0375 rounds to fp16 0x28CD = 0.037506103515625 (scale -0.0375061 here).
  // -0.20625 / -0.0375061 = 5.4991 -> 5 (code 13); with the unrounded scale it would be a tie 5.5 -> 6.
  const auto w = rtn1({0.3f, -0.20625f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0xA8CD));
  EXPECT_THAT(w.q, ElementsAre(0, 13));
  // Exact binary values: max 1 + 2^-12 gives scale -(1 + 2^-12)/8, which fp16 rounds to -0.125.
  // -0.6875 / -0.125 = 5.5 is a tie -> 6 (code 14); the unrounded scale would give 5.4987 -> 5 (code 13).
  const auto t = rtn1({1.000244140625f, -0.6875f}, 4, true);
  EXPECT_THAT(t.scales, ElementsAre(0xB000));
  EXPECT_THAT(t.q, ElementsAre(0, 14));
}

TEST(RtnSym, ZeroGroupGetsThresholdScale) {
  // max_v = -0.0 is not < 0, so the scale is clamped up to +fp16(1e-5); every code is the zero 8.
  const auto w = rtn1({0.0f, 0.0f, 0.0f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(kThresh));
  EXPECT_THAT(w.q, ElementsAre(8, 8, 8));
  EXPECT_THAT(q::dequantize(w), ElementsAre(0.0, 0.0, 0.0));
}

TEST(RtnSym, TinyNegativeScaleKeepsItsSignAtTheThreshold) {
  // -1e-5/8 is above -1e-5, so it becomes -fp16(1e-5); 1e-5 / -1.00136e-5 = -0.9986 -> -1 (code 7).
  const auto w = rtn1({1e-5f, 0.0f}, 4, true);
  EXPECT_THAT(w.scales, ElementsAre(0x8000 | kThresh));
  EXPECT_THAT(w.q, ElementsAre(7, 8));
}

TEST(RtnSym, GroupsAlongKPerColumn) {
  // K = 4, N = 2, G = 2. Column 0: [1, -0.5 | -2, 1]; column 1: [0, 0 | 0.25, -0.125].
  const std::vector<float> w_kn = {1.0f, 0.0f, -0.5f, 0.0f, -2.0f, 0.25f, 1.0f, -0.125f};
  const auto w = q::quantize_rtn(w_kn.data(), 4, 2, 4, 2, true);
  // (g0,c0) -0.125; (g0,c1) zero group; (g1,c0) |min| 2 dominates: +0.25; (g1,c1) -0.25/8 = -2^-5.
  EXPECT_THAT(w.scales, ElementsAre(0xB000, kThresh, 0x3400, 0xA800));
  EXPECT_THAT(w.q, ElementsAre(0, 8, 12, 8, 0, 0, 12, 12));
}

TEST(RtnSym, ActOrderGroupsFollowGIdx) {
  // Same W with g_idx = [1, 0, 0, 1]: group 0 = rows {1, 2}, group 1 = rows {0, 3}.
  // (g0,c0) {-0.5,-2}: +0.25; (g0,c1) {0,0.25}: -2^-5; (g1,c0) {1,1}: -0.125; (g1,c1) {0,-0.125}: +2^-6.
  const std::vector<float> w_kn = {1.0f, 0.0f, -0.5f, 0.0f, -2.0f, 0.25f, 1.0f, -0.125f};
  const auto w = q::quantize_rtn(w_kn.data(), 4, 2, 4, 2, true, {1, 0, 0, 1});
  EXPECT_THAT(w.scales, ElementsAre(0x3400, 0xA800, 0xB000, 0x2400));
  EXPECT_THAT(w.q, ElementsAre(0, 8, 6, 8, 0, 0, 0, 0));
}

// ---- asymmetric ----

TEST(RtnAsym, ZeroIsRoundedMinOverScale) {
  // 2-bit: range 1.5 / 3 = 0.5; zero = round(0.5/0.5) = 1; w/s = -1, 0.5 -> 0 (even), 2, 0.
  const auto w = rtn1({-0.5f, 0.25f, 1.0f, 0.0f}, 2, false);
  EXPECT_THAT(w.scales, ElementsAre(0x3800));
  EXPECT_THAT(w.zeros, ElementsAre(1));
  EXPECT_THAT(w.q, ElementsAre(0, 1, 3, 1));
}

TEST(RtnAsym, NonNegativeGroupHasZeroZeroPoint) {
  // min clamps to 0: scale 7.5/15 = 0.5, zero 0; 1.5 -> 2 and 2.5 -> 2 (half to even).
  const auto w = rtn1({0.0f, 0.75f, 1.25f, 7.5f}, 4, false);
  EXPECT_THAT(w.scales, ElementsAre(0x3800));
  EXPECT_THAT(w.zeros, ElementsAre(0));
  EXPECT_THAT(w.q, ElementsAre(0, 2, 2, 15));
}

TEST(RtnAsym, ZeroRoundsHalfToEven) {
  // range 3.75/15 = 0.25; -min/scale = 2.5 -> zero 2; -2.5 -> -2 (+2 = 0), 12.5 -> 12 (+2 = 14).
  const auto w = rtn1({-0.625f, 3.125f}, 4, false);
  EXPECT_THAT(w.scales, ElementsAre(0x3400));
  EXPECT_THAT(w.zeros, ElementsAre(2));
  EXPECT_THAT(w.q, ElementsAre(0, 14));
  const auto d = q::dequantize(w);
  EXPECT_DOUBLE_EQ(d[0], -0.5);
  EXPECT_DOUBLE_EQ(d[1], 3.0);
}

TEST(RtnAsym, ZeroGroup) {
  const auto w = rtn1({0.0f, 0.0f}, 4, false);
  EXPECT_THAT(w.scales, ElementsAre(kThresh));
  EXPECT_THAT(w.zeros, ElementsAre(0));
  EXPECT_THAT(w.q, ElementsAre(0, 0));
}

TEST(Rtn, RejectsBadInput) {
  const std::vector<float> w = {1.0f, NAN};
  EXPECT_THROW(q::quantize_rtn(w.data(), 2, 1, 4, -1, true), incq::host::Error);
  const std::vector<float> ok = {1.0f, 2.0f};
  EXPECT_THROW(q::quantize_rtn(ok.data(), 2, 1, 1, -1, true), incq::host::Error);
  EXPECT_THROW(q::quantize_rtn(ok.data(), 2, 1, 4, 0, true), incq::host::Error);
  EXPECT_THROW(q::quantize_rtn(ok.data(), 2, 1, 4, 1, true, {0, 2}), incq::host::Error);
}

TEST(Rtn, RoundHalfToEven) {
  EXPECT_EQ(q::round_half_to_even(0.5), 0.0);
  EXPECT_EQ(q::round_half_to_even(1.5), 2.0);
  EXPECT_EQ(q::round_half_to_even(2.5), 2.0);
  EXPECT_EQ(q::round_half_to_even(-0.5), 0.0);
  EXPECT_EQ(q::round_half_to_even(-1.5), -2.0);
  EXPECT_EQ(q::round_half_to_even(-2.6), -3.0);
  EXPECT_EQ(q::round_half_to_even(2.4), 2.0);
}

// ---- quantize -> dequantize error over random weights ----
//
// Unclamped, round(w/s) is within 1/2 of w/s, so |w - s*q| <= |s|/2 (plus the float rounding of w/s).
// Which elements can clamp?
//  sym: the dominant extreme A has |A/s| = maxq * (1 + e), |e| <= 2^-11 (fp16 rounding of the
//       scale), < maxq + 1/2 for bits <= 8, so it rounds to -maxq exactly: nothing clamps at the
//       bottom. On the other side, values up to A in magnitude reach +maxq but the top code is
//       maxq - 1: those clamp, with error up to |s| * (1 + maxq * 2^-11) <= 1.0625 |s|.
//  asym: clamping at code 2^b-1 needs round(w/s) + zero > maxq; with zero <= -min/s + 1/2 and
//       (max - min)/s <= maxq (1 + 2^-11) the error is at most s * (1/2 + maxq * 2^-11) < 0.63 s;
//       the bottom is symmetric. So the clamped bound 1.07 |s| covers both.
struct ErrCase {
  int bits;
  bool sym;
  int G;
  bool act_order;
};

class RtnError : public ::testing::TestWithParam<ErrCase> {};

TEST_P(RtnError, DequantizeIsWithinHalfAScaleExceptClampedExtremes) {
  const ErrCase c = GetParam();
  const int64_t K = 320, N = 12;
  std::mt19937_64 rng(42 + c.bits);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w_kn(K * N);
  for (auto& v : w_kn) v = u(rng);
  // A column of non-negative and one of non-positive values exercise min or max clamping at 0.
  for (int64_t k = 0; k < K; ++k) {
    w_kn[k * N + 0] = std::fabs(w_kn[k * N + 0]);
    w_kn[k * N + 1] = -std::fabs(w_kn[k * N + 1]);
  }
  const auto g_idx = c.act_order ? q::make_act_order_g_idx(K, c.G, 11) : std::vector<int32_t>{};
  const auto w = q::quantize_rtn(w_kn.data(), K, N, c.bits, c.G, c.sym, g_idx);
  const auto d = q::dequantize(w);
  const int top = (1 << c.bits) - 1;
  int over_half = 0;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t g = w.group_of(k);
      const double s = std::fabs(incq::half_to_float(w.scales[g * N + n]));
      const double err = std::fabs(w_kn[k * N + n] - d[k * N + n]);
      const int code = w.q[k * N + n];
      if (err <= s / 2 * (1 + 1e-6)) continue;
      ++over_half;
      ASSERT_TRUE(code == top || (!c.sym && code == 0)) << "unclamped error " << err << " > |s|/2 at " << k << "," << n;
      ASSERT_LE(err, 1.07 * s) << "clamped error too large at " << k << "," << n;
    }
  // Definition checks: the scale and zero AutoRound computes for each (group, column).
  for (int64_t g = 0; g < w.num_groups(); ++g)
    for (int64_t n = 0; n < N; ++n) {
      float mn = 0.0f, mx = 0.0f;
      int64_t arg_dominant = -1;
      float dominant = -1.0f;
      for (int64_t k = 0; k < K; ++k)
        if (w.group_of(k) == g) {
          const float v = w_kn[k * N + n];
          mn = std::min(mn, v);
          mx = std::max(mx, v);
          if (std::fabs(v) > dominant) dominant = std::fabs(v), arg_dominant = k;
        }
      const uint16_t s = w.scales[g * N + n];
      if (c.sym) {
        const int maxq = 1 << (c.bits - 1);
        const float amax = std::max(-mn, mx);
        EXPECT_EQ(s & 0x7FFF, incq::float_to_half(amax / maxq));
        EXPECT_EQ((s & 0x8000) != 0, mx >= -mn) << "negative scale exactly when the positive extreme dominates";
        EXPECT_EQ(w.q[arg_dominant * N + n], 0) << "the dominant extreme maps to -2^(bits-1)";
        EXPECT_EQ(w.zeros[g * N + n], maxq);
      } else {
        const int maxq = (1 << c.bits) - 1;
        EXPECT_EQ(s, incq::float_to_half((mx - mn) / maxq));
        EXPECT_EQ(w.zeros[g * N + n], q::round_half_to_even(-mn / incq::half_to_float(s)));
      }
    }
  RecordProperty("over_half", over_half);
}

std::vector<ErrCase> err_cases() {
  std::vector<ErrCase> out;
  for (int bits : {2, 3, 4, 8})
    for (bool sym : {true, false})
      for (int G : {-1, 32, 64, 128, 96, 100})
        for (bool ao : {false, true}) out.push_back({bits, sym, G, ao});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, RtnError, ::testing::ValuesIn(err_cases()), [](const auto& info) {
  const ErrCase& c = info.param;
  return "b" + std::to_string(c.bits) + (c.sym ? "_sym" : "_asym") + "_G" +
         (c.G < 0 ? std::string("m1") : std::to_string(c.G)) + (c.act_order ? "_actorder" : "");
});

// ---- Linear oracle ----

TEST(OracleLinear, HandComputed2x3x2) {
  const double x[6] = {1, 2, 3, -1, 0, 2};
  const double W[6] = {1, -1, 0, 2, 0.5, 1};  // [3][2]
  const double b[2] = {0.5, -1};
  double y[4], mag[4];
  q::oracle_linear(x, 2, 3, W, 2, b, y, mag);
  // y00 = 1 + 0 + 1.5 + 0.5; y01 = -1 + 4 + 3 - 1; y10 = -1 + 0 + 1 + 0.5; y11 = 1 + 0 + 2 - 1.
  EXPECT_THAT(y, ElementsAre(3.0, 5.0, 0.5, 2.0));
  EXPECT_THAT(mag, ElementsAre(3.0, 9.0, 2.5, 4.0));
  q::oracle_linear(x, 2, 3, W, 2, nullptr, y, mag);
  EXPECT_THAT(y, ElementsAre(2.5, 6.0, 0.0, 3.0));
  EXPECT_THAT(mag, ElementsAre(2.5, 8.0, 2.0, 3.0));
}

// ---- MoE oracle ----

double silu(double v) { return v / (1.0 + std::exp(-v)); }

TEST(OracleMoe, HandComputedWithRepeatedExpert) {
  // H = 2, I = 1, x = [1, 2] for both tokens.
  // expert 0: g = x·[1,0] = 1, u = x·[0,1] = 2, a0 = 2 silu(1), out = a0 * [1, -1]
  // expert 1: g = x·[0,1] = 2, u = x·[1,0] = 1, a1 = silu(2),   out = a1 * [0.5, 2]
  std::vector<q::ExpertWeights> ex(2);
  ex[0] = {{1, 0}, {0, 1}, {1, -1}};
  ex[1] = {{0, 1}, {1, 0}, {0.5, 2}};
  const double x[4] = {1, 2, 1, 2};
  const int32_t ids[4] = {0, 1, 1, 1};  // token 1 picks expert 1 twice
  const float tw[4] = {0.25f, 0.75f, 0.5f, 0.25f};
  double y[4], mag[4];
  q::oracle_moe(x, 2, 2, 1, ex, ids, tw, 2, y, mag);
  const double a0 = 2 * silu(1.0), a1 = silu(2.0);
  EXPECT_NEAR(y[0], 0.25 * a0 + 0.75 * 0.5 * a1, 1e-15);
  EXPECT_NEAR(y[1], -0.25 * a0 + 0.75 * 2 * a1, 1e-15);
  EXPECT_NEAR(y[2], (0.5 + 0.25) * 0.5 * a1, 1e-15);
  EXPECT_NEAR(y[3], (0.5 + 0.25) * 2 * a1, 1e-15);
}

TEST(OracleMoe, RejectsBadExpertIds) {
  std::vector<q::ExpertWeights> ex(1, {{1, 0}, {0, 1}, {1, -1}});
  const double x[2] = {1, 2};
  const int32_t ids[1] = {1};
  const float tw[1] = {1.0f};
  double y[2];
  EXPECT_THAT([&] { q::oracle_moe(x, 1, 2, 1, ex, ids, tw, 1, y, nullptr); },
              ::testing::ThrowsMessage<incq::host::Error>(::testing::HasSubstr("topk_ids[0, 0] = 1, expected in [0, 1)")));
}

// An implementation whose three matmuls err by exactly tol times their sums of absolute terms, with
// chosen signs. sign_for(t, j, kind, i) gives the sign of each perturbation (kind 0: gate output i,
// 1: up output i, 2: down output i).
template <typename SignFn>
std::vector<double> perturbed_moe(const std::vector<double>& x, int64_t T, int64_t H, int64_t I,
                                  const std::vector<q::ExpertWeights>& ex, const std::vector<int32_t>& ids,
                                  const std::vector<float>& tw, int top_k, double tol, SignFn sign_for) {
  std::vector<double> y(T * H, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < top_k; ++j) {
      const auto& e = ex[ids[t * top_k + j]];
      std::vector<double> a(I);
      for (int64_t i = 0; i < I; ++i) {
        double g = 0, u = 0, mg = 0, mu = 0;
        for (int64_t h = 0; h < H; ++h) {
          g += x[t * H + h] * e.gate[h * I + i];
          u += x[t * H + h] * e.up[h * I + i];
          mg += std::fabs(x[t * H + h] * e.gate[h * I + i]);
          mu += std::fabs(x[t * H + h] * e.up[h * I + i]);
        }
        g += sign_for(t, j, 0, i) * tol * mg;
        u += sign_for(t, j, 1, i) * tol * mu;
        a[i] = silu(g) * u;
      }
      for (int64_t h = 0; h < H; ++h) {
        double o = 0, m = 0;
        for (int64_t i = 0; i < I; ++i) {
          o += a[i] * e.down[i * H + h];
          m += std::fabs(a[i] * e.down[i * H + h]);
        }
        y[t * H + h] += tw[t * top_k + j] * (o + sign_for(t, j, 2, h) * tol * m);
      }
    }
  return y;
}

TEST(OracleMoe, MagBoundsAPerturbedComputationAndIsReached) {
  const int64_t T = 3, H = 8, I = 5, E = 3;
  const int top_k = 2;
  std::mt19937_64 rng(8);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<q::ExpertWeights> ex(E);
  for (auto& e : ex) {
    e.gate.resize(H * I), e.up.resize(H * I), e.down.resize(I * H);
    for (auto* v : {&e.gate, &e.up, &e.down})
      for (auto& w : *v) w = nd(rng);
  }
  std::vector<double> x(T * H);
  for (auto& v : x) v = nd(rng);
  const std::vector<int32_t> ids = {0, 2, 1, 1, 2, 0};
  const std::vector<float> tw = {0.7f, 0.3f, 0.5f, 0.5f, -0.4f, 1.2f};  // a negative weight too
  std::vector<double> y(T * H), mag(T * H);
  q::oracle_moe(x.data(), T, H, I, ex, ids.data(), tw.data(), top_k, y.data(), mag.data());
  const double tol = 1e-6;

  // Random signs: always within the bound (first order; 1e-4 relative slack covers O(tol^2)).
  for (int trial = 0; trial < 20; ++trial) {
    std::mt19937_64 srng(100 + trial);
    std::vector<double> signs(T * top_k * 3 * std::max(H, I));
    for (auto& s : signs) s = (srng() & 1) ? 1.0 : -1.0;
    const auto yp = perturbed_moe(x, T, H, I, ex, ids, tw, top_k, tol, [&](int64_t t, int j, int kind, int64_t i) {
      return signs[((t * top_k + j) * 3 + kind) * std::max(H, I) + i];
    });
    for (int64_t i = 0; i < T * H; ++i) ASSERT_LE(std::fabs(yp[i] - y[i]), tol * mag[i] * (1 + 1e-4)) << i;
  }

  // Signs aligned with each term's contribution to one output (t0, h0): the error reaches mag there,
  // so mag is not a loose over-estimate.
  for (int64_t t0 = 0; t0 < T; ++t0)
    for (int64_t h0 : {int64_t{0}, H - 1}) {
      const auto sgn = [](double v) { return v >= 0 ? 1.0 : -1.0; };
      const auto yp = perturbed_moe(x, T, H, I, ex, ids, tw, top_k, tol, [&](int64_t t, int j, int kind, int64_t i) {
        if (t != t0) return 1.0;
        const auto& e = ex[ids[t * top_k + j]];
        const double r = tw[t * top_k + j];
        if (kind == 2) return sgn(r);
        double g = 0, u = 0;
        for (int64_t h = 0; h < H; ++h) g += x[t * H + h] * e.gate[h * I + i], u += x[t * H + h] * e.up[h * I + i];
        const double sig = 1 / (1 + std::exp(-g));
        const double dsilu = sig * (1 + g * (1 - sig));
        return kind == 0 ? sgn(r * e.down[i * H + h0] * dsilu * u) : sgn(r * e.down[i * H + h0] * silu(g));
      });
      const double dev = std::fabs(yp[t0 * H + h0] - y[t0 * H + h0]);
      EXPECT_LE(dev, tol * mag[t0 * H + h0] * (1 + 1e-4));
      EXPECT_GE(dev, tol * mag[t0 * H + h0] * (1 - 1e-4)) << "t=" << t0 << " h=" << h0;
    }
}

}  // namespace
