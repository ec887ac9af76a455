// The small float encodings (e4m3, e5m2, E2M1, E0M4, E8M0) and the activation quantizers of
// docs/formats.md, against values derived by hand from the format definitions (OCP FP8 / MX) and
// AutoRound's rules, plus brute-force properties that do not reuse the code under test.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "quant/act_quant.hpp"
#include "quant/float_formats.hpp"

namespace q = incq::host::quant;
using ::testing::HasSubstr;

namespace {

struct Code {
  uint8_t code;
  double value;
};

// Every finite value of a format, by brute force over its codes (for the nearest-value property).
std::vector<double> all_values(double (*decode)(uint8_t), int ncodes) {
  std::vector<double> out;
  for (int c = 0; c < ncodes; ++c) {
    const double v = decode(static_cast<uint8_t>(c));
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

// Checks encode(v) is a nearest representable value (saturating at +-max), and on an exact tie the
// one with an even code (even mantissa): the definition of RNE, checked against the whole code table.
void expect_nearest(uint8_t (*encode)(double), double (*decode)(uint8_t), int ncodes, double max, double v) {
  const double got = decode(encode(v));
  const double target = std::fmax(-max, std::fmin(max, v));
  double best = std::numeric_limits<double>::infinity();
  for (double g : all_values(decode, ncodes)) best = std::fmin(best, std::fabs(g - target));
  ASSERT_EQ(std::fabs(got - target), best) << "v = " << v << " got " << got;
  int ties = 0;
  for (double g : all_values(decode, ncodes))
    if (std::fabs(g - target) == best && g != got && !(g == 0 && got == 0)) ++ties;
  if (ties > 0) {
    EXPECT_EQ(encode(v) & 1, 0) << "tie at v = " << v << " must go to the even code";
  }
}

}  // namespace

TEST(E4M3, HandDerivedCodes) {
  // S.EEEE.MMM, bias 7: normal 2^(E-7)(1+M/8), subnormal 2^-6 * M/8.
  const Code table[] = {{0x00, 0.0},        {0x01, 1.0 / 512},   {0x07, 7.0 / 512},  {0x08, 1.0 / 64},
                        {0x30, 0.5},        {0x38, 1.0},         {0x39, 1.125},      {0x3F, 1.875},
                        {0x40, 2.0},        {0x44, 3.0},         {0x57, 15.0},       {0x70, 128.0},
                        {0x7E, 448.0},      {0xB8, -1.0},        {0xC0, -2.0},       {0xFE, -448.0},
                        {0x81, -1.0 / 512}, {0x18, 1.0 / 16},    {0x6E, 112.0},      {0x10, 1.0 / 32},    {0x78, 256.0}};
  for (const Code& c : table) EXPECT_EQ(q::decode_e4m3(c.code), c.value) << std::hex << int(c.code);
  EXPECT_TRUE(std::isnan(q::decode_e4m3(0x7F)));
  EXPECT_TRUE(std::isnan(q::decode_e4m3(0xFF)));
  EXPECT_TRUE(std::signbit(q::decode_e4m3(0x80)));
  EXPECT_EQ(q::decode_e4m3(0x80), 0.0);
  for (const Code& c : table) EXPECT_EQ(q::encode_e4m3(c.value), c.code) << c.value;
}

TEST(E4M3, RoundTripEveryCodeAndNaNOnlyWhereSpecified) {
  int nans = 0;
  for (int c = 0; c < 256; ++c) {
    const double v = q::decode_e4m3(static_cast<uint8_t>(c));
    if (std::isnan(v)) {
      ++nans;
      EXPECT_TRUE(c == 0x7F || c == 0xFF) << c;
      EXPECT_TRUE(q::is_nan_e4m3(static_cast<uint8_t>(c)));
      continue;
    }
    EXPECT_FALSE(std::isinf(v));
    EXPECT_EQ(q::encode_e4m3(v), c) << c;
  }
  EXPECT_EQ(nans, 2);
}

TEST(E4M3, RoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(q::encode_e4m3(1.0625), 0x38);   // tie 1.0 | 1.125 -> even mantissa 0
  EXPECT_EQ(q::encode_e4m3(1.1875), 0x3A);   // tie 1.125 | 1.25 -> 1.25 (M=2)
  EXPECT_EQ(q::encode_e4m3(1.07), 0x39);     // above the tie
  EXPECT_EQ(q::encode_e4m3(1.0 / 1024), 0x00);  // half the smallest subnormal -> 0 (even)
  EXPECT_EQ(q::encode_e4m3(3.0 / 1024), 0x02);  // tie 1/512 | 2/512 -> M=2
  EXPECT_EQ(q::encode_e4m3(-0.0001), 0x80);     // negative rounding to zero keeps its sign
  EXPECT_EQ(q::encode_e4m3(464.0), 0x7E);       // tie 448 | (480) -> saturated 448
  EXPECT_EQ(q::encode_e4m3(1e9), 0x7E);
  EXPECT_EQ(q::encode_e4m3(-1e9), 0xFE);
  EXPECT_EQ(q::encode_e4m3(INFINITY), 0x7E);
  for (double v = -500; v <= 500; v += 0.37) expect_nearest(q::encode_e4m3, q::decode_e4m3, 256, 448, v);
  for (double v = -0.05; v <= 0.05; v += 0.000123) expect_nearest(q::encode_e4m3, q::decode_e4m3, 256, 448, v);
  for (int c = 0; c < 0x7E; ++c) {  // every midpoint between neighbours
    const double a = q::decode_e4m3(static_cast<uint8_t>(c)), b = q::decode_e4m3(static_cast<uint8_t>(c + 1));
    expect_nearest(q::encode_e4m3, q::decode_e4m3, 256, 448, (a + b) / 2);
  }
}

TEST(E4M3, NaNInputIsAnError) {
  try {
    q::encode_e4m3(std::nan(""));
    FAIL() << "no error";
  } catch (const incq::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("NaN"));
  }
}

TEST(E5M2, HandDerivedCodesAndSpecials) {
  // S.EEEEE.MM, bias 15.
  const Code table[] = {{0x3C, 1.0},          {0x40, 2.0},       {0x3D, 1.25},   {0x7B, 57344.0},
                        {0x01, 1.0 / 65536},  {0x04, 1.0 / 16384}, {0xBC, -1.0}, {0x38, 0.5}};
  for (const Code& c : table) EXPECT_EQ(q::decode_e5m2(c.code), c.value) << std::hex << int(c.code);
  EXPECT_EQ(q::decode_e5m2(0x7C), INFINITY);
  EXPECT_EQ(q::decode_e5m2(0xFC), -INFINITY);
  for (uint8_t c : {0x7D, 0x7E, 0x7F, 0xFD, 0xFF}) EXPECT_TRUE(std::isnan(q::decode_e5m2(c)));
  for (int c = 0; c < 256; ++c) {
    const double v = q::decode_e5m2(static_cast<uint8_t>(c));
    EXPECT_EQ(q::is_nonfinite_e5m2(static_cast<uint8_t>(c)), !std::isfinite(v)) << c;
    if (std::isfinite(v)) {
      EXPECT_EQ(q::encode_e5m2(v), c) << c;
    }
  }
  EXPECT_EQ(q::encode_e5m2(1.125), 0x3C);  // tie 1.0 | 1.25 -> even
  EXPECT_EQ(q::encode_e5m2(1e9), 0x7B);    // saturates, never Inf
  for (double v = -60000; v <= 60000; v += 123.4) expect_nearest(q::encode_e5m2, q::decode_e5m2, 256, 57344, v);
}

TEST(E2M1, EveryNibble) {
  const double mags[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (int c = 0; c < 16; ++c) {
    const double want = (c & 8) ? -mags[c & 7] : mags[c & 7];
    EXPECT_EQ(q::decode_e2m1(static_cast<uint8_t>(c)), want) << c;
    EXPECT_EQ(q::encode_e2m1(want), c) << c;  // includes 0x8 = -0
  }
  EXPECT_EQ(q::decode_e2m1(0xF7), 6.0);  // only the low nibble is read
}

TEST(E2M1, RoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(q::encode_e2m1(0.25), 0x0);   // tie 0 | 0.5
  EXPECT_EQ(q::encode_e2m1(0.75), 0x2);   // tie 0.5 | 1 -> 1
  EXPECT_EQ(q::encode_e2m1(1.25), 0x2);   // tie 1 | 1.5 -> 1
  EXPECT_EQ(q::encode_e2m1(1.75), 0x4);   // tie 1.5 | 2 -> 2
  EXPECT_EQ(q::encode_e2m1(2.5), 0x4);    // tie 2 | 3 -> 2
  EXPECT_EQ(q::encode_e2m1(3.5), 0x6);    // tie 3 | 4 -> 4
  EXPECT_EQ(q::encode_e2m1(5.0), 0x6);    // tie 4 | 6 -> 4
  EXPECT_EQ(q::encode_e2m1(2.6), 0x5);
  EXPECT_EQ(q::encode_e2m1(7.0), 0x7);
  EXPECT_EQ(q::encode_e2m1(-5.1), 0xF);
  EXPECT_EQ(q::encode_e2m1(-0.1), 0x8);
  for (double v = -7; v <= 7; v += 0.0625) expect_nearest(q::encode_e2m1, q::decode_e2m1, 16, 6, v);
}

TEST(E0M4, SignMagnitudeQuarters) {
  for (int c = 0; c < 16; ++c) {
    const double want = ((c & 8) ? -1 : 1) * (c & 7) / 4.0;
    EXPECT_EQ(q::decode_e0m4(static_cast<uint8_t>(c)), want) << c;
  }
  EXPECT_EQ(q::decode_e0m4(0x9), -0.25);  // sign-magnitude, not two's complement (-7/4 would be)
  EXPECT_EQ(q::encode_e0m4(-1.75), 0xF);
  EXPECT_EQ(q::encode_e0m4(-0.0), 0x8);
  EXPECT_THROW(q::encode_e0m4(0.3), incq::host::Error);
  EXPECT_THROW(q::encode_e0m4(2.0), incq::host::Error);
}

TEST(E8M0, PowersOfTwo) {
  EXPECT_EQ(q::decode_e8m0(127), 1.0);
  EXPECT_EQ(q::decode_e8m0(128), 2.0);
  EXPECT_EQ(q::decode_e8m0(120), 1.0 / 128);
  EXPECT_EQ(q::decode_e8m0(0), std::ldexp(1.0, -127));
  EXPECT_EQ(q::decode_e8m0(254), std::ldexp(1.0, 127));
  EXPECT_TRUE(std::isnan(q::decode_e8m0(255)));
}

// ------------------------------------------------------------------ activation quantizers

namespace {

incq_scheme act_scheme(int32_t family, int bits, int group) {
  incq_scheme s{};
  s.struct_size = sizeof(s);
  s.act_family = family;
  s.act_bits = bits;
  s.act_group_size = group;
  s.act_sym = 1;
  return s;
}

std::vector<double> run(const incq_scheme& s, const std::vector<double>& x, int64_t M, double gs = 0) {
  std::vector<double> out(x.size(), 12345.0);
  q::quantize_activations(s, x.data(), M, static_cast<int64_t>(x.size()) / M, gs, out.data());
  return out;
}

}  // namespace

TEST(ActQuant, DenseCopies) {
  const std::vector<double> x = {1.5, -2.25, 3};
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_DENSE, 16, 0), x, 1), x);
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_INT, 16, -1), x, 1), x);
}

TEST(ActQuant, IntPerTokenHandRows) {
  // Row 0: amax 254 -> s = 2; x/s = 127, -63.5, 0.5, 1.5 -> RNE 127, -64, 0, 2.
  // Row 1: amax 127 -> s = 1; unchanged integers. Row 2: all zero -> zero.
  const std::vector<double> x = {254, -127, 1, 3, /**/ 127, -127, 5, -1, /**/ 0, 0, 0, 0};
  const std::vector<double> want = {254, -128, 0, 4, /**/ 127, -127, 5, -1, /**/ 0, 0, 0, 0};
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_INT, 8, -1), x, 3), want);
}

TEST(ActQuant, IntScaleIsAnFp32Quotient) {
  // amax 1 -> s = fp32(1/127) (not the double 1/127); x' = 1 is then q*s = 127*fp32(1/127) exactly.
  const float s = 1.0f / 127.0f;
  const std::vector<double> got = run(act_scheme(INCQ_FAMILY_INT, 8, -1), {1.0, 0.0}, 1);
  EXPECT_EQ(got[0], 127.0 * static_cast<double>(s));
  EXPECT_NE(got[0], 1.0);
}

TEST(ActQuant, Fp8GroupsHandRows) {
  // Group 0: amax 28 -> s = 28/448 = 1/16; x/s = 448, 16.5 -> e4m3 448, 16 (grid step 2 at 16).
  // Group 1: amax 896 -> s = 2; 3 -> 1.5 (exact). Group 2: zero -> s = 1/(448*512), x' = 0.
  const std::vector<double> got = run(act_scheme(INCQ_FAMILY_FP8, 8, 2), {28, 1.03125, 896, 3, 0, 0}, 1);
  EXPECT_EQ(got, (std::vector<double>{28, 1.0, 896, 3, 0, 0}));
  // group 3 of [896, 3, -0.25]: x/s = 448, 1.5, -0.125 -> all e4m3-exact
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_FP8, 8, 3), {896, 3, -0.25}, 1), (std::vector<double>{896, 3, -0.25}));
  // a value between grid points: amax 448 -> s = 1; 17 -> tie 16 | 18 -> 16; 19 -> tie 18 | 20 -> 20
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_FP8, 8, -1), {448, 17, 19, -0.001}, 1),
            (std::vector<double>{448, 16, 20, -1.0 / 512}));
}

TEST(ActQuant, MxFp4HandRowWithTailGroup) {
  // K = 36, group 32: group 0 amax 6 -> E = floor(log2 6) - 2 = 0, elements on the E2M1 grid;
  // tail group of 4 with amax 12 -> E = 1: 12 -> 6*2, 5 -> 2.5 -> 2 -> 4, 7 -> 3.5 -> 4 -> 8, -0.4 -> -0.2 -> -0.
  std::vector<double> x(36, 0.0), want(36, 0.0);
  const double g0[] = {6, 5, -2.5, 0.25, 0.75, 1.25, 3.5, -0.2, 5.9, 0.3};
  const double w0[] = {6, 4, -2, 0, 1, 1, 4, -0.0, 6, 0.5};
  for (int i = 0; i < 10; ++i) x[i] = g0[i], want[i] = w0[i];
  x[32] = 12, x[33] = 5, x[34] = 7, x[35] = -0.4;
  want[32] = 12, want[33] = 4, want[34] = 8, want[35] = -0.0;
  const auto got = run(act_scheme(INCQ_FAMILY_MX_FP, 4, 32), x, 1);
  EXPECT_EQ(got, want);
  EXPECT_TRUE(std::signbit(got[35]));
}

TEST(ActQuant, MxFp4FloorRuleSaturates) {
  // amax 7.5 -> E = floor(log2 7.5) - 2 = 0, so 7.5 saturates to 6 (AutoRound's floor rule, not rceil).
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_MX_FP, 4, -1), {7.5, 1}, 1), (std::vector<double>{6, 1}));
  // amax 0.1 -> E = -4 - 2 = -6: 0.1*64 = 6.4 -> 6 -> 6/64; 0.01*64 = 0.64 -> 0.5 -> 0.5/64
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_MX_FP, 4, -1), {0.1, 0.01}, 1), (std::vector<double>{6.0 / 64, 0.5 / 64}));
}

TEST(ActQuant, MxFp8HandRow) {
  // amax 1 -> E = 0 - 8 = -8, t = 256 x: 1 -> 256; 1 + 1/64 -> 260 -> 256 (step 32); 0.5 + 1/128 -> 130
  // -> 128 (step 16 at 128, 130 < 136); 1/1024 -> 0.25 -> e4m3 subnormal step 1/512 -> 0.25 exact.
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_MX_FP, 8, 32), {1, 1 + 1.0 / 64, 0.5 + 1.0 / 128, 1.0 / 1024}, 1),
            (std::vector<double>{1, 1, 0.5, 1.0 / 1024}));
}

TEST(ActQuant, MxInt4HandRow) {
  // amax 1.9 -> E = 0; grid 0.25, max 1.75: 1.9 -> 1.75 (saturates); 1.125 -> tie 1 | 1.25 -> 1;
  // 0.375 -> tie 0.25 | 0.5 -> 0.5; -0.125 -> tie 0 | -0.25 -> -0.
  const auto got = run(act_scheme(INCQ_FAMILY_MX_INT, 4, 32), {1.9, 1.125, 0.375, -0.125}, 1);
  EXPECT_EQ(got, (std::vector<double>{1.75, 1, 0.5, -0.0}));
  // amax 5 -> E = 2: 5/4 = 1.25; 3/4 = 0.75; 1/4 -> 0.25
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_MX_INT, 4, 32), {5, 3, 1}, 1), (std::vector<double>{5, 3, 1}));
  // zero block: E = 1 (log2 0 replaced by 1), everything 0
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_MX_INT, 4, 32), {0, 0}, 1), (std::vector<double>{0, 0}));
}

TEST(ActQuant, NvFp4HandRows) {
  // g = 224, amax 12: t = fp32(12 * fp32(1/6)) = 2, s = e4m3(448) = 448, d = 448/224 = 2, o = 0.5:
  // x*o = 6, 5, -2.5, 0.5 -> 6, 4, -2, 0.5 -> x' = 12, 8, -4, 1.
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_NV_FP, 4, 16), {12, 10, -5, 1}, 1, 224.0), (std::vector<double>{12, 8, -4, 1}));
  // g = 1, amax 6: t = 1, s = 1, o = 1: 6, 5 -> 4, 1.75 -> 2, -0.25 -> -0.
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_NV_FP, 4, 16), {6, 5, 1.75, -0.25}, 1, 1.0), (std::vector<double>{6, 4, 2, -0.0}));
  // g = 0: AutoRound's get_reciprocal(0) = 0 makes every x' zero.
  EXPECT_EQ(run(act_scheme(INCQ_FAMILY_NV_FP, 4, 16), {6, 5}, 1, 0.0), (std::vector<double>{0, 0}));
}

TEST(ActQuant, BadSchemesAreErrors) {
  const std::vector<double> x = {1, 2};
  auto msg = [&](const incq_scheme& s, double gs) {
    try {
      run(s, x, 1, gs);
    } catch (const incq::host::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(msg(act_scheme(INCQ_FAMILY_MX_FP, 6, 32), 0), HasSubstr("MX fp with 6 bits is not supported"));
  EXPECT_THAT(msg(act_scheme(INCQ_FAMILY_INT, 8, 0), 0), HasSubstr("act_group_size 0"));
  EXPECT_THAT(msg(act_scheme(INCQ_FAMILY_NV_FP, 4, 16), NAN), HasSubstr("input_global_scale"));
  EXPECT_THAT(msg(act_scheme(INCQ_FAMILY_FP8, 4, 16), 0), HasSubstr("FP8 with 4 bits"));
}
