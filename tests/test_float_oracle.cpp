// The FP8 / MX / NV weight readers, synth quantizers and activation quantizers of incq_quant
// (docs/formats.md) — on hand-built tensors, on round trips, and against REAL AutoRound 0.16.1
// exports in tests/fixtures/autoround/: (a) the dequantized weights reproduce AutoRound's
// weight-only fp32 outputs, (b) with the activation quantization they reproduce its fp16 outputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_quant.hpp"
#include "quant/float_formats.hpp"
#include "quant/float_layer_shape.hpp"
#include "quant/fp8_weights.hpp"
#include "quant/mx_weights.hpp"
#include "quant/nv_weights.hpp"
#include "quant/oracle.hpp"
#include "safetensors/safetensors.hpp"

namespace q = incq::host::quant;
namespace st = incq::host::st;
using ::testing::HasSubstr;

namespace {

incq_scheme make_scheme(int32_t family, int bits, int group, int32_t packing = INCQ_PACKING_LLM_COMPRESSOR) {
  incq_scheme s{};
  s.struct_size = sizeof(s);
  s.family = family;
  s.bits = bits;
  s.group_size = group;
  s.sym = 1;
  s.packing = packing;
  s.act_bits = 16;
  s.act_family = INCQ_FAMILY_DENSE;
  if (family == INCQ_FAMILY_FP8) s.weight_dtype = INCQ_DTYPE_F8_E4M3;
  return s;
}

incq_scheme with_act(incq_scheme s, int32_t family, int bits, int group) {
  s.act_family = family;
  s.act_bits = bits;
  s.act_group_size = group;
  s.act_dynamic = 1;
  s.act_sym = 1;
  return s;
}

q::PackedTensor bytes_tensor(const char* name, int32_t dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
  return q::PackedTensor{name, dtype, std::move(shape), std::move(bytes)};
}

q::PackedTensor bf16_tensor(const char* name, std::vector<int64_t> shape, const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = incq::float_to_bf16(v[i]);
    std::memcpy(&b[i * 2], &h, 2);
  }
  return bytes_tensor(name, INCQ_DTYPE_BF16, std::move(shape), std::move(b));
}

q::PackedTensor f32_tensor(const char* name, std::vector<int64_t> shape, const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return bytes_tensor(name, INCQ_DTYPE_F32, std::move(shape), std::move(b));
}

const q::PackedTensor& named(const std::vector<q::PackedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const incq::host::Error& e) {
    return e.what();
  }
  return "no error";
}

std::vector<float> random_weights(int64_t n, uint32_t seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, spread);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = d(rng);
  return w;
}

}  // namespace

// ------------------------------------------------------------------ FP8 readers

TEST(Fp8Read, PerChannelHandValues) {
  // N = 2, K = 3; codes 1.0 (0x38), -2 (0xC0), 0.5 (0x30) / 448 (0x7E), 0, -1/512 (0x81); scales 0.5, 4.
  const auto w = bytes_tensor("weight", INCQ_DTYPE_F8_E4M3, {2, 3}, {0x38, 0xC0, 0x30, 0x7E, 0x00, 0x81});
  const auto s = bf16_tensor("weight_scale", {2}, {0.5f, 4.0f});
  const auto W = q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s), make_scheme(INCQ_FAMILY_FP8, 8, -1, INCQ_PACKING_FP8), 3, 2);
  // x·W orientation: W[k][n]
  EXPECT_EQ(W, (std::vector<double>{0.5, 1792, -1, 0, 0.25, -4.0 / 512}));
}

TEST(Fp8Read, BlockScalesTileBothDims) {
  // N = 3, K = 4 with 2x3 blocks: scale_inv [2, 2]; every code 1.0 so W shows the tiling.
  const auto w = bytes_tensor("weight", INCQ_DTYPE_F8_E4M3, {3, 4}, std::vector<uint8_t>(12, 0x38));
  const auto s = bf16_tensor("weight_scale_inv", {2, 2}, {1, 2, 3, 4});
  incq_scheme sc = make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8_BLOCK);
  sc.block_n = 2, sc.block_k = 3;
  const auto W = q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s), sc, 4, 3);
  const double want_nk[3][4] = {{1, 1, 1, 2}, {1, 1, 1, 2}, {3, 3, 3, 4}};
  for (int n = 0; n < 3; ++n)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(W[k * 3 + n], want_nk[n][k]) << n << "," << k;
}

TEST(Fp8Read, NaNCodeNamesLayerTensorAndIndex) {
  const auto w = bytes_tensor("weight", INCQ_DTYPE_F8_E4M3, {2, 3}, {0x38, 0x38, 0x38, 0x38, 0x38, 0xFF});
  const auto s = bf16_tensor("weight_scale", {1}, {1.0f});
  const std::string msg = error_of([&] {
    q::dequantize_fp8("model.layers.0.mlp.up_proj", q::tensor_view(w), q::tensor_view(s),
                      make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8), 3, 2);
  });
  EXPECT_THAT(msg, HasSubstr("model.layers.0.mlp.up_proj: weight[1, 2] is code 0xFF"));
  EXPECT_THAT(msg, HasSubstr("NaN"));
}

TEST(Fp8Read, E5M2InfCodeIsAnError) {
  const auto w = bytes_tensor("weight", INCQ_DTYPE_F8_E5M2, {1, 2}, {0x3C, 0x7C});
  const auto s = bf16_tensor("weight_scale", {1}, {1.0f});
  incq_scheme sc = make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8);
  sc.weight_dtype = INCQ_DTYPE_F8_E5M2;
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s), sc, 2, 1); }),
              HasSubstr("L: weight[0, 1] is code 0x7C"));
}

TEST(Fp8Read, WrongScaleShapesAndDtypesAreErrors) {
  const auto w = bytes_tensor("weight", INCQ_DTYPE_F8_E4M3, {4, 8}, std::vector<uint8_t>(32, 0x38));
  const auto per_channel = make_scheme(INCQ_FAMILY_FP8, 8, -1, INCQ_PACKING_FP8);
  const auto s5 = bf16_tensor("weight_scale", {5}, {1, 1, 1, 1, 1});
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s5), per_channel, 8, 4); }),
              HasSubstr("L: weight_scale: shape [5], expected [4] for group_size -1"));
  const auto grouped = make_scheme(INCQ_FAMILY_FP8, 8, 3, INCQ_PACKING_FP8);  // ceil(8/3) = 3 groups
  const auto s42 = bf16_tensor("weight_scale", {4, 2}, std::vector<float>(8, 1));
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s42), grouped, 8, 4); }),
              HasSubstr("shape [4, 2], expected [4, 3]"));
  incq_scheme block = make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8_BLOCK);
  block.block_n = 128, block.block_k = 128;
  const auto s11 = bf16_tensor("weight_scale_inv", {1, 2}, {1, 1});
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s11), block, 8, 4); }),
              HasSubstr("L: weight_scale_inv: shape [1, 2], expected [1, 1] (ceil(N/128) x ceil(K/128))"));
  const auto s_u8 = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {4}, {1, 1, 1, 1});
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s_u8), per_channel, 8, 4); }),
              HasSubstr("L: weight_scale: dtype U8, expected BF16 or F16 or F32"));
  const auto s_nan = bf16_tensor("weight_scale", {4}, {1, 1, NAN, 1});
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s_nan), per_channel, 8, 4); }),
              HasSubstr("L: weight_scale[2] is NaN"));
  EXPECT_THAT(error_of([&] { q::dequantize_fp8("L", q::tensor_view(w), q::tensor_view(s5), per_channel, 4, 8); }),
              HasSubstr("L: weight: shape [4, 8], expected [8, 4] (N x K)"));
}

// ------------------------------------------------------------------ MX / NV readers

TEST(MxRead, Mxfp4NibblesLowFirstTimesE8M0) {
  // N = 1, K = 32: byte 0 = 0x97 -> k0 = 0x7 (6), k1 = 0x9 (-0.5); byte 1 = 0x2A -> k2 = -1 (0xA), k3 = 1 (0x2).
  std::vector<uint8_t> packed(16, 0);
  packed[0] = 0x97, packed[1] = 0x2A;
  const auto w = bytes_tensor("weight_packed", INCQ_DTYPE_U8, {1, 16}, packed);
  const auto s = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {1, 1}, {129});  // 2^2
  const auto W = q::dequantize_mx("L", q::tensor_view(w), q::tensor_view(s), make_scheme(INCQ_FAMILY_MX_FP, 4, 32), 32, 1);
  EXPECT_EQ(W[0], 24.0);
  EXPECT_EQ(W[1], -2.0);
  EXPECT_EQ(W[2], -4.0);
  EXPECT_EQ(W[3], 4.0);
  EXPECT_EQ(W[4], 0.0);
}

TEST(MxRead, Mxint4IsSignMagnitudeQuarters) {
  std::vector<uint8_t> packed(16, 0);
  packed[0] = 0xF6;  // k0 = 6 -> 1.5, k1 = 0xF -> -1.75
  const auto w = bytes_tensor("weight_packed", INCQ_DTYPE_U8, {1, 16}, packed);
  const auto s = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {1, 1}, {126});  // 2^-1
  const auto W = q::dequantize_mx("L", q::tensor_view(w), q::tensor_view(s), make_scheme(INCQ_FAMILY_MX_INT, 4, 32), 32, 1);
  EXPECT_EQ(W[0], 0.75);
  EXPECT_EQ(W[1], -0.875);
}

TEST(MxRead, ErrorsNameLayerTensorAndIndex) {
  const auto w = bytes_tensor("weight_packed", INCQ_DTYPE_U8, {2, 32}, std::vector<uint8_t>(64, 0x22));
  const auto s_nan = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {2, 2}, {127, 127, 127, 255});
  const auto mx4 = make_scheme(INCQ_FAMILY_MX_FP, 4, 32);
  EXPECT_THAT(error_of([&] { q::dequantize_mx("L", q::tensor_view(w), q::tensor_view(s_nan), mx4, 64, 2); }),
              HasSubstr("L: weight_scale[1, 1] is 255, the E8M0 NaN"));
  const auto s_bad = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {2, 1}, {127, 127});
  EXPECT_THAT(error_of([&] { q::dequantize_mx("L", q::tensor_view(w), q::tensor_view(s_bad), mx4, 64, 2); }),
              HasSubstr("L: weight_scale: shape [2, 1], expected [2, 2] (N x K/32, E8M0)"));
  const auto w_i8 = bytes_tensor("weight_packed", INCQ_DTYPE_I8, {2, 32}, std::vector<uint8_t>(64, 0));
  EXPECT_THAT(error_of([&] { q::dequantize_mx("L", q::tensor_view(w_i8), q::tensor_view(s_nan), mx4, 64, 2); }),
              HasSubstr("L: weight_packed: dtype I8, expected U8"));
  const auto w8 = bytes_tensor("weight", INCQ_DTYPE_F8_E4M3, {1, 32}, [] {
    std::vector<uint8_t> b(32, 0x38);
    b[17] = 0x7F;
    return b;
  }());
  const auto s1 = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {1, 1}, {127});
  EXPECT_THAT(error_of([&] {
                q::dequantize_mx("L", q::tensor_view(w8), q::tensor_view(s1), make_scheme(INCQ_FAMILY_MX_FP, 8, 32), 32, 1);
              }),
              HasSubstr("L: weight[0, 17] is code 0x7F"));
  EXPECT_THAT(error_of([&] { q::dequantize_mx("L", q::tensor_view(w), q::tensor_view(s_nan), mx4, 48, 2); }),
              HasSubstr("group_size 32 must be positive and divide K = 48"));
}

TEST(NvRead, HandValuesAndErrors) {
  // N = 1, K = 16: k0 = 6 (0x7), k1 = -1.5 (0xB); block scale e4m3 2.0 (0x40); global 4 -> w = e2m1 * 2 / 4.
  std::vector<uint8_t> packed(8, 0);
  packed[0] = 0xB7;
  const auto w = bytes_tensor("weight_packed", INCQ_DTYPE_U8, {1, 8}, packed);
  const auto s = bytes_tensor("weight_scale", INCQ_DTYPE_F8_E4M3, {1, 1}, {0x40});
  const auto g = f32_tensor("weight_global_scale", {1}, {4.0f});
  const auto nv = make_scheme(INCQ_FAMILY_NV_FP, 4, 16);
  const auto W = q::dequantize_nvfp4("L", q::tensor_view(w), q::tensor_view(s), q::tensor_view(g), nv, 16, 1);
  EXPECT_EQ(W[0], 3.0);
  EXPECT_EQ(W[1], -0.75);
  const auto g_neg = f32_tensor("weight_global_scale", {1}, {-1.0f});
  EXPECT_THAT(error_of([&] { q::dequantize_nvfp4("L", q::tensor_view(w), q::tensor_view(s), q::tensor_view(g_neg), nv, 16, 1); }),
              HasSubstr("L: weight_global_scale is -1, expected >= 0"));
  const auto g_inf = f32_tensor("weight_global_scale", {1}, {INFINITY});
  EXPECT_THAT(error_of([&] { q::dequantize_nvfp4("L", q::tensor_view(w), q::tensor_view(s), q::tensor_view(g_inf), nv, 16, 1); }),
              HasSubstr("L: weight_global_scale[0] is +Inf"));
  const auto s_nan = bytes_tensor("weight_scale", INCQ_DTYPE_F8_E4M3, {1, 1}, {0x7F});
  EXPECT_THAT(error_of([&] { q::dequantize_nvfp4("L", q::tensor_view(w), q::tensor_view(s_nan), q::tensor_view(g), nv, 16, 1); }),
              HasSubstr("L: weight_scale[0, 0] is code 0x7F"));
  const auto s_u8 = bytes_tensor("weight_scale", INCQ_DTYPE_U8, {1, 1}, {0x40});
  EXPECT_THAT(error_of([&] { q::dequantize_nvfp4("L", q::tensor_view(w), q::tensor_view(s_u8), q::tensor_view(g), nv, 16, 1); }),
              HasSubstr("L: weight_scale: dtype U8, expected F8_E4M3"));
}

TEST(FloatLayerShape, PackedAndUnpacked) {
  EXPECT_EQ(q::infer_float_kn({256, 64}, make_scheme(INCQ_FAMILY_MX_FP, 4, 32)), (std::pair<int64_t, int64_t>{128, 256}));
  EXPECT_EQ(q::infer_float_kn({256, 128}, make_scheme(INCQ_FAMILY_MX_FP, 8, 32)), (std::pair<int64_t, int64_t>{128, 256}));
  EXPECT_EQ(q::infer_float_kn({7, 9}, make_scheme(INCQ_FAMILY_FP8, 8, -1)), (std::pair<int64_t, int64_t>{9, 7}));
  EXPECT_THROW(q::infer_float_kn({7}, make_scheme(INCQ_FAMILY_FP8, 8, -1)), incq::host::Error);
}

// ------------------------------------------------------------------ synth

TEST(Fp8Synth, HandCodesPerTensor) {
  // amax 448 -> s = 1: 448 -> 0x7E, 1 -> 0x38, -2 -> 0xC0, 1/16 -> 0x18; scale BF16 1.0 = 0x3F80.
  const float w[4] = {448, 1, -2, 0.0625f};
  const auto ts = q::quantize_fp8(w, 1, 4, make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8));
  EXPECT_EQ(named(ts, "weight").bytes, (std::vector<uint8_t>{0x7E, 0x38, 0xC0, 0x18}));
  EXPECT_EQ(named(ts, "weight").dtype, INCQ_DTYPE_F8_E4M3);
  EXPECT_EQ(named(ts, "weight_scale").shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{0x80, 0x3F}));
}

TEST(Fp8Synth, RoundTripsWithinHalfAStepEveryTiling) {
  const int64_t N = 37, K = 70;
  const auto w = random_weights(N * K, 7);
  incq_scheme block = make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8_BLOCK);
  block.block_n = 16, block.block_k = 32;
  const incq_scheme schemes[] = {make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8),
                                 make_scheme(INCQ_FAMILY_FP8, 8, -1, INCQ_PACKING_FP8),
                                 make_scheme(INCQ_FAMILY_FP8, 8, 32, INCQ_PACKING_FP8), block};
  for (const incq_scheme& sc : schemes) {
    const auto ts = q::quantize_fp8(w.data(), N, K, sc);
    const auto& scale = named(ts, sc.packing == INCQ_PACKING_FP8_BLOCK ? "weight_scale_inv" : "weight_scale");
    const auto W = q::dequantize_fp8("L", q::tensor_view(named(ts, "weight")), q::tensor_view(scale), sc, K, N);
    double worst = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const double v = w[n * K + k], got = W[k * N + n];
        // e4m3 half step: 2^-4 relative for normals; the group scale is <= 4.5/448 here (|w| < 4.5),
        // so subnormal steps add at most 2^-10 * 4.5/448; the BF16-rounded scale adds 2^-9 relative.
        const double bound = (1.0 / 16 + 1.0 / 256) * std::fabs(v) + std::ldexp(4.5 / 448, -10);
        worst = std::max(worst, std::fabs(v - got) / bound);
        ASSERT_LE(std::fabs(v - got), bound) << "group " << sc.group_size << " n " << n << " k " << k;
      }
    EXPECT_GT(worst, 0.1);  // the bound is not vacuous
  }
}

TEST(MxSynth, HandBytes) {
  std::vector<float> w(32, 0.0f);
  w[0] = 6, w[1] = -0.5f;  // amax 6 -> E = 0: nibbles 0x7, 0x9 -> byte 0x97; scale 127
  auto ts = q::quantize_mx(w.data(), 1, 32, make_scheme(INCQ_FAMILY_MX_FP, 4, 32));
  EXPECT_EQ(named(ts, "weight_packed").bytes[0], 0x97);
  EXPECT_EQ(named(ts, "weight_packed").shape, (std::vector<int64_t>{1, 16}));
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{127}));
  w[0] = 1.5f, w[1] = -0.25f;  // MXINT4: amax 1.5 -> E = 0: 1.5 = 6/4 -> 0x6, -0.25 -> 0x9 -> 0x96
  ts = q::quantize_mx(w.data(), 1, 32, make_scheme(INCQ_FAMILY_MX_INT, 4, 32));
  EXPECT_EQ(named(ts, "weight_packed").bytes[0], 0x96);
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{127}));
  w[0] = 1, w[1] = 0;  // MXFP8: amax 1 -> E = -8 (byte 119), 1 * 256 -> e4m3 256 = 0x78
  ts = q::quantize_mx(w.data(), 1, 32, make_scheme(INCQ_FAMILY_MX_FP, 8, 32));
  EXPECT_EQ(named(ts, "weight").bytes[0], 0x78);
  EXPECT_EQ(named(ts, "weight").dtype, INCQ_DTYPE_F8_E4M3);
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{119}));
  std::fill(w.begin(), w.end(), 0.0f);  // a zero block: AutoRound's log2(0) -> 1 gives E = 1 - emax
  ts = q::quantize_mx(w.data(), 1, 32, make_scheme(INCQ_FAMILY_MX_FP, 4, 32));
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{126}));
}

TEST(MxSynth, RoundTripIsTheNearestGridValueOfFloorExponent) {
  const int64_t N = 9, K = 96;
  const auto w = random_weights(N * K, 11, 0.02f);
  struct Case {
    int32_t family;
    int bits;
    int emax;
    double (*decode)(uint8_t);
    int ncodes;
  };
  const Case cases[] = {{INCQ_FAMILY_MX_FP, 4, 2, q::decode_e2m1, 16},
                        {INCQ_FAMILY_MX_INT, 4, 0, q::decode_e0m4, 16},
                        {INCQ_FAMILY_MX_FP, 8, 8, q::decode_e4m3, 256}};
  for (const Case& c : cases) {
    const incq_scheme sc = make_scheme(c.family, c.bits, 32);
    const auto ts = q::quantize_mx(w.data(), N, K, sc);
    const auto& scale = named(ts, "weight_scale");
    const auto W = q::dequantize_mx("L", q::tensor_view(named(ts, q::float_weight_tensor_name(sc))),
                                    q::tensor_view(scale), sc, K, N);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t b = 0; b < K / 32; ++b) {
        double amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(double(w[n * K + b * 32 + i])));
        const int E = std::ilogb(amax) - c.emax;  // the floor rule, via a different function
        ASSERT_EQ(scale.bytes[n * (K / 32) + b], E + 127);
        for (int i = 0; i < 32; ++i) {
          const int64_t k = b * 32 + i;
          double best = INFINITY;  // nearest element value * 2^E, by brute force over the codes
          for (int code = 0; code < c.ncodes; ++code) {
            const double v = c.decode(static_cast<uint8_t>(code));
            if (std::isfinite(v)) best = std::min(best, std::fabs(std::ldexp(v, E) - w[n * K + k]));
          }
          ASSERT_EQ(std::fabs(W[k * N + n] - w[n * K + k]), best) << "bits " << c.bits << " n " << n << " k " << k;
        }
      }
  }
}

TEST(NvSynth, HandBlock) {
  // amax 6: g = fp32(2688 * fp32(1/6)) = 448; block t = 1, s = 448 (0x7E), o = 1: 6 -> 0x7, 5 -> 4 (0x6).
  std::vector<float> w(16, 0.0f);
  w[0] = 6, w[1] = 5;
  const auto ts = q::quantize_nvfp4(w.data(), 1, 16, make_scheme(INCQ_FAMILY_NV_FP, 4, 16), 3.5f);
  EXPECT_EQ(named(ts, "weight_packed").bytes[0], 0x67);
  EXPECT_EQ(named(ts, "weight_scale").bytes, (std::vector<uint8_t>{0x7E}));
  float g, ig;
  std::memcpy(&g, named(ts, "weight_global_scale").bytes.data(), 4);
  std::memcpy(&ig, named(ts, "input_global_scale").bytes.data(), 4);
  EXPECT_EQ(g, 448.0f);
  EXPECT_EQ(ig, 3.5f);
}

TEST(NvSynth, RoundTripsWithinHalfAStep) {
  const int64_t N = 5, K = 64;
  const auto w = random_weights(N * K, 3, 0.05f);
  const auto sc = make_scheme(INCQ_FAMILY_NV_FP, 4, 16);
  const auto ts = q::quantize_nvfp4(w.data(), N, K, sc, 1.0f);
  const auto W = q::dequantize_nvfp4("L", q::tensor_view(named(ts, "weight_packed")), q::tensor_view(named(ts, "weight_scale")),
                                     q::tensor_view(named(ts, "weight_global_scale")), sc, K, N);
  float g;
  std::memcpy(&g, named(ts, "weight_global_scale").bytes.data(), 4);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < K / 16; ++b) {
      const double unit = q::decode_e4m3(named(ts, "weight_scale").bytes[n * (K / 16) + b]) / g;  // value of 1.0
      for (int i = 0; i < 16; ++i) {
        const int64_t k = b * 16 + i;
        const double t = std::fabs(w[n * K + k]) / unit;  // the element before rounding
        // E2M1 half steps: 0.25 below 2, 0.5 below 4, 1 above; beyond 6 the saturation excess
        // (the e4m3 block scale may round down by up to 1/16 relative: t <= 6.375).
        const double half = t < 2 ? 0.25 : t < 4 ? 0.5 : 1.0;
        const double bound = (std::max(half, t - 6) + 1e-6) * unit;
        ASSERT_LE(std::fabs(W[k * N + n] - w[n * K + k]), bound) << n << "," << k;
      }
    }
}

// ------------------------------------------------------------------ AutoRound fixtures

namespace {

const std::string kFixtures = std::string(INCQ_TEST_SOURCE_DIR) + "/tests/fixtures/autoround/";

std::vector<double> read_as_doubles(const st::TensorView& t) {
  const int64_t n = static_cast<int64_t>(t.nbytes / incq::dtype_size(t.dtype));
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, t.data + i * 4, 4);
      out[i] = f;
    } else if (t.dtype == INCQ_DTYPE_F16) {
      uint16_t h;
      std::memcpy(&h, t.data + i * 2, 2);
      out[i] = incq::half_to_float(h);
    } else {
      throw std::runtime_error("unexpected dtype in " + t.name);
    }
  }
  return out;
}

struct FixtureCase {
  const char* dir;
  incq_scheme scheme;  // as reference.json records AutoRound's resolved layer scheme
  // The activation quantization AutoRound 0.16.1's inference module really applies. It differs for
  // MXINT4: experimental/qmodules/mx.py _mx_qdq calls quant_mx without data_type, whose default
  // "mx_fp" becomes "mx_fp" + act_bits = mx_fp4, so MXINT4QuantLinear quantizes x on the E2M1 grid
  // (docs/formats.md §5). The oracle's contract keeps the configured mx_int grid.
  incq_scheme autoround_forward;
};

std::vector<FixtureCase> mx_nv_cases() {
  const incq_scheme mxint4 = make_scheme(INCQ_FAMILY_MX_INT, 4, 32, INCQ_PACKING_NONE);
  const auto same = [](incq_scheme s) { return s; };
  return {
      {"mxfp4", with_act(make_scheme(INCQ_FAMILY_MX_FP, 4, 32), INCQ_FAMILY_MX_FP, 4, 32),
       same(with_act(make_scheme(INCQ_FAMILY_MX_FP, 4, 32), INCQ_FAMILY_MX_FP, 4, 32))},
      {"mxfp8", with_act(make_scheme(INCQ_FAMILY_MX_FP, 8, 32), INCQ_FAMILY_MX_FP, 8, 32),
       same(with_act(make_scheme(INCQ_FAMILY_MX_FP, 8, 32), INCQ_FAMILY_MX_FP, 8, 32))},
      {"mxint4", with_act(mxint4, INCQ_FAMILY_MX_INT, 4, 32), with_act(mxint4, INCQ_FAMILY_MX_FP, 4, 32)},
      {"nvfp4", with_act(make_scheme(INCQ_FAMILY_NV_FP, 4, 16), INCQ_FAMILY_NV_FP, 4, 16),
       same(with_act(make_scheme(INCQ_FAMILY_NV_FP, 4, 16), INCQ_FAMILY_NV_FP, 4, 16))},
  };
}

struct LoadedLayer {
  int64_t K = 0, N = 0;
  std::vector<double> W, bias;
  double input_global_scale = 0;
};

// How the layer's global scales are taken: as stored (F32, the format), or as AutoRound's fp16
// loading path sees them. from_pretrained(dtype=float16) rounds the F32 buffers weight_global_scale
// and input_global_scale to fp16 before NVFP4QuantLinear.load_state_dict's "force float32" could
// apply (e.g. 12684.3867 -> 12688, 1186.4276 -> 1186), and both recorded outputs use those values.
enum class GlobalScales { AsStored, AsAutoRoundFp16Loader };

float as_fp16(float v) { return incq::half_to_float(incq::float_to_half(v)); }

LoadedLayer load_layer(const st::Checkpoint& ck, const std::string& layer, const incq_scheme& sc,
                       GlobalScales gs = GlobalScales::AsAutoRoundFp16Loader) {
  LoadedLayer L;
  const char* wname = sc.family == INCQ_FAMILY_NV_FP ? "weight_packed" : q::float_weight_tensor_name(sc);
  const st::TensorView* w = ck.find(layer + "." + wname);
  const st::TensorView* s = ck.find(layer + ".weight_scale");
  if (w == nullptr || s == nullptr) throw std::runtime_error("missing tensors of " + layer);
  std::tie(L.K, L.N) = q::infer_float_kn(w->shape, sc);
  if (sc.family == INCQ_FAMILY_NV_FP) {
    const st::TensorView* g = ck.find(layer + ".weight_global_scale");
    const st::TensorView* ig = ck.find(layer + ".input_global_scale");
    float gv = static_cast<float>(q::read_global_scale(layer, "weight_global_scale", g->as_incq_tensor()));
    float igv = static_cast<float>(q::read_global_scale(layer, "input_global_scale", ig->as_incq_tensor()));
    if (gs == GlobalScales::AsAutoRoundFp16Loader) gv = as_fp16(gv), igv = as_fp16(igv);
    const auto g_used = f32_tensor("weight_global_scale", {1}, {gv});
    L.W = q::dequantize_nvfp4(layer, w->as_incq_tensor(), s->as_incq_tensor(), q::tensor_view(g_used), sc, L.K, L.N);
    L.input_global_scale = igv;
  } else {
    L.W = q::dequantize_mx(layer, w->as_incq_tensor(), s->as_incq_tensor(), sc, L.K, L.N);
  }
  if (const st::TensorView* b = ck.find(layer + ".bias")) L.bias = read_as_doubles(*b);
  return L;
}

std::vector<std::string> fixture_layers(const st::SafetensorsFile& ref) {
  std::vector<std::string> out;
  const std::string suffix = ".y_wdq_fp32";
  for (const auto& t : ref.tensors())
    if (t.name.size() > suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(t.name.substr(0, t.name.size() - suffix.size()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// (a) weight dequantization alone against AutoRound's dequant_weight_online() + fp32 matmul.
// Bound: AutoRound's fp32 weights equal ours exactly for MX (powers of two) and within 3 fp32
// roundings for NV (e2m1 * fp32(1/g) * s); an fp32 dot product of K terms plus bias errs by at most
// (K+1)·2^-24 of Σ|x·w| + |b| (first order). So |y - y_ref| <= (K+4)·2^-24·mag.
TEST(AutoRoundFixtures, WeightDequantizationMatchesYwdqFp32) {
  for (const FixtureCase& fc : mx_nv_cases()) {
    SCOPED_TRACE(fc.dir);
    const auto ck = st::Checkpoint::open(kFixtures + fc.dir + "/checkpoint");
    const auto ref = st::SafetensorsFile::open(kFixtures + fc.dir + "/reference.safetensors");
    const auto layers = fixture_layers(*ref);
    ASSERT_EQ(layers.size(), 7u);  // q, k, v, o, gate, up, down of layer 0
    for (const std::string& layer : layers) {
      SCOPED_TRACE(layer);
      const LoadedLayer L = load_layer(*ck, layer, fc.scheme);
      const auto x = read_as_doubles(*ref->find(layer + ".x"));
      const auto y_ref = read_as_doubles(*ref->find(layer + ".y_wdq_fp32"));
      const int64_t M = static_cast<int64_t>(x.size()) / L.K;
      ASSERT_EQ(M * L.N, static_cast<int64_t>(y_ref.size()));
      std::vector<double> y(y_ref.size()), mag(y_ref.size());
      q::oracle_linear(x.data(), M, L.K, L.W.data(), L.N, L.bias.empty() ? nullptr : L.bias.data(), y.data(), mag.data());
      const double tol = (L.K + 4) * std::ldexp(1.0, -24);
      double worst = 0, max_abs = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        const double err = std::fabs(y[i] - y_ref[i]);
        ASSERT_LE(err, tol * mag[i]) << "output " << i << " oracle " << y[i] << " AutoRound " << y_ref[i];
        worst = std::max(worst, err / (tol * mag[i]));
        max_abs = std::max(max_abs, err);
      }
      std::printf("  %s %s: y_wdq_fp32 max |err| %.3g, worst err/bound %.3f\n", fc.dir, layer.c_str(), max_abs, worst);
      if (fc.scheme.family == INCQ_FAMILY_NV_FP) {  // the stored F32 global scale does not give AutoRound's output
        const LoadedLayer S = load_layer(*ck, layer, fc.scheme, GlobalScales::AsStored);
        q::oracle_linear(x.data(), M, L.K, S.W.data(), L.N, L.bias.empty() ? nullptr : L.bias.data(), y.data(), mag.data());
        int outside = 0;
        for (size_t i = 0; i < y.size(); ++i) outside += std::fabs(y[i] - y_ref[i]) > tol * mag[i];
        EXPECT_GT(outside, 0) << "AutoRound's output no longer needs the fp16-rounded global scale";
      }
    }
  }
}

// (b) with activation quantization, against AutoRound's float16 forward: x' = qdq(x) (fp32) is cast
// to fp16, the fp32-dequantized weight is cast to fp16, then an fp16 linear (fp32 accumulation on
// CPU, one rounding of the output to fp16). With u = 2^-11, v = 2^-24 and mag' = Σ|x'·w| + |b|:
// |y16 - y(x')| <= (2u + u² + 2v + (K+1)v)·mag' + u·|y16|/(1-u) + 2^-25·Σ|w| (fp16 subnormal x').
TEST(AutoRoundFixtures, ActivationQuantizationMatchesYfp16) {
  const double u = std::ldexp(1.0, -11), v = std::ldexp(1.0, -24);
  for (const FixtureCase& fc : mx_nv_cases()) {
    SCOPED_TRACE(fc.dir);
    const auto ck = st::Checkpoint::open(kFixtures + fc.dir + "/checkpoint");
    const auto ref = st::SafetensorsFile::open(kFixtures + fc.dir + "/reference.safetensors");
    for (const std::string& layer : fixture_layers(*ref)) {
      SCOPED_TRACE(layer);
      const LoadedLayer L = load_layer(*ck, layer, fc.scheme);
      const auto x = read_as_doubles(*ref->find(layer + ".x"));
      const auto y16 = read_as_doubles(*ref->find(layer + ".y_fp16"));
      const int64_t M = static_cast<int64_t>(x.size()) / L.K;
      std::vector<double> xq(x.size());
      q::quantize_activations(fc.autoround_forward, x.data(), M, L.K, L.input_global_scale, xq.data());
      // Where the contract's activation rule differs from AutoRound's module (MXINT4), the contract's
      // rule must miss AutoRound's output: that pins the cause of the difference.
      std::vector<double> xq_contract(x.size());
      q::quantize_activations(fc.scheme, x.data(), M, L.K, L.input_global_scale, xq_contract.data());
      const bool contract_differs = fc.scheme.act_family != fc.autoround_forward.act_family;
      std::vector<double> y(y16.size()), mag(y16.size()), y_plain(y16.size()), mag_plain(y16.size());
      q::oracle_linear(xq.data(), M, L.K, L.W.data(), L.N, L.bias.empty() ? nullptr : L.bias.data(), y.data(), mag.data());
      // Without activation quantization, for contrast: must NOT fit the bound everywhere (the check can fail).
      q::oracle_linear(x.data(), M, L.K, L.W.data(), L.N, L.bias.empty() ? nullptr : L.bias.data(), y_plain.data(),
                       mag_plain.data());
      std::vector<double> wsum(static_cast<size_t>(L.N), 0.0);
      for (int64_t k = 0; k < L.K; ++k)
        for (int64_t n = 0; n < L.N; ++n) wsum[n] += std::fabs(L.W[k * L.N + n]);
      const double rel = 2 * u + u * u + 2 * v + (L.K + 1) * v;
      double worst = 0, max_abs = 0;
      int plain_outside = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        const double bound = rel * mag[i] + u * std::fabs(y16[i]) / (1 - u) + std::ldexp(1.0, -25) * wsum[i % L.N];
        const double err = std::fabs(y[i] - y16[i]);
        ASSERT_LE(err, bound) << "output " << i << " oracle " << y[i] << " AutoRound " << y16[i];
        worst = std::max(worst, err / bound);
        max_abs = std::max(max_abs, err);
        if (std::fabs(y_plain[i] - y16[i]) > bound) ++plain_outside;
      }
      EXPECT_GT(plain_outside, 0) << "the bound cannot tell quantized from unquantized activations";
      if (contract_differs) {
        std::vector<double> yc(y16.size()), magc(y16.size());
        q::oracle_linear(xq_contract.data(), M, L.K, L.W.data(), L.N, L.bias.empty() ? nullptr : L.bias.data(), yc.data(),
                         magc.data());
        int outside = 0;
        for (size_t i = 0; i < y.size(); ++i) outside += std::fabs(yc[i] - y16[i]) > rel * magc[i] + u * std::fabs(y16[i]);
        EXPECT_GT(outside, 0) << "AutoRound's module now applies the configured activation data type";
        std::printf("  %s %s: with the contract's %s activations %d/%zu outputs miss AutoRound's\n", fc.dir,
                    layer.c_str(), fc.scheme.act_family == INCQ_FAMILY_MX_INT ? "mx_int" : "?", outside, y.size());
      }
      std::printf("  %s %s: y_fp16 max |err| %.3g, worst err/bound %.3f; unquantized x misses the bound at %d/%zu\n",
                  fc.dir, layer.c_str(), max_abs, worst, plain_outside, y.size());
    }
  }
}

// What AutoRound's exporters wrote, as docs/formats.md says: MX scale bytes follow the floor rule,
// so each nonzero block's largest element lies in the top binade of its element format; an NVFP4
// block's largest element is 6; an FP8 scale group's largest code is ±448 (scale = max/448).
TEST(AutoRoundFixtures, ExportedBlocksUseTheTopOfTheElementRange) {
  for (const FixtureCase& fc : mx_nv_cases()) {
    SCOPED_TRACE(fc.dir);
    const auto ck = st::Checkpoint::open(kFixtures + fc.dir + "/checkpoint");
    const auto ref = st::SafetensorsFile::open(kFixtures + fc.dir + "/reference.safetensors");
    const int G = fc.scheme.group_size;
    const double lo = fc.scheme.family == INCQ_FAMILY_NV_FP ? 6.0
                      : fc.scheme.family == INCQ_FAMILY_MX_INT ? 1.0
                      : fc.scheme.bits == 4 ? 4.0 : 256.0;
    for (const std::string& layer : fixture_layers(*ref)) {
      const LoadedLayer L = load_layer(*ck, layer, fc.scheme, GlobalScales::AsStored);
      const st::TensorView* s = ck->find(layer + ".weight_scale");
      for (int64_t n = 0; n < L.N; ++n)
        for (int64_t b = 0; b < L.K / G; ++b) {
          const uint8_t code = s->data[n * (L.K / G) + b];
          // the value of element 1.0 times the global scale: NV w = e2m1 * s / g, MX w = element * 2^(s-127)
          const double unit = fc.scheme.family == INCQ_FAMILY_NV_FP ? q::decode_e4m3(code) : q::decode_e8m0(code);
          double emax = 0;
          for (int64_t k = b * G; k < (b + 1) * G; ++k) emax = std::max(emax, std::fabs(L.W[k * L.N + n]));
          if (emax == 0) continue;
          double g = 1;
          if (fc.scheme.family == INCQ_FAMILY_NV_FP) {
            const st::TensorView* gt = ck->find(layer + ".weight_global_scale");
            float gf;
            std::memcpy(&gf, gt->data, 4);
            g = gf;
          }
          const double element = emax * g / unit;
          ASSERT_GE(element, lo * (1 - 1e-12)) << layer << " n " << n << " block " << b;
        }
    }
  }
}

TEST(AutoRoundFixtures, Fp8CheckpointsReadAndEveryScaleGroupReaches448) {
  struct Fp8Case {
    const char* dir;
    incq_scheme scheme;
  };
  incq_scheme block = make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8_BLOCK);
  block.block_n = 128, block.block_k = 128;
  const Fp8Case cases[] = {{"fp8_per_tensor", make_scheme(INCQ_FAMILY_FP8, 8, 0, INCQ_PACKING_FP8)},
                           {"fp8_per_channel", make_scheme(INCQ_FAMILY_FP8, 8, -1, INCQ_PACKING_FP8)},
                           {"fp8_block", block}};
  const char* layers[] = {"model.layers.0.self_attn.q_proj", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj",
                          "model.layers.0.mlp.down_proj"};
  for (const Fp8Case& fc : cases) {
    SCOPED_TRACE(fc.dir);
    const auto ck = st::Checkpoint::open(kFixtures + fc.dir + "/checkpoint");
    for (const char* layer : layers) {
      const std::string L = layer;
      const st::TensorView* w = ck->find(L + ".weight");
      const st::TensorView* s = ck->find(L + (fc.scheme.packing == INCQ_PACKING_FP8_BLOCK ? ".weight_scale_inv" : ".weight_scale"));
      ASSERT_TRUE(w && s) << L;
      const auto [K, N] = q::infer_float_kn(w->shape, fc.scheme);
      const auto W = q::dequantize_fp8(L, w->as_incq_tensor(), s->as_incq_tensor(), fc.scheme, K, N);
      // Group of (n, k) in the writer's tiling, and the largest |code| per group read from the raw bytes.
      const int64_t bn = fc.scheme.packing == INCQ_PACKING_FP8_BLOCK ? 128 : fc.scheme.group_size == 0 ? N : 1;
      const int64_t bk = fc.scheme.packing == INCQ_PACKING_FP8_BLOCK ? 128 : K;
      const int64_t cols = (K + bk - 1) / bk;
      std::vector<double> group_max(static_cast<size_t>(((N + bn - 1) / bn) * cols), 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const double c = std::fabs(q::decode_e4m3(w->data[n * K + k]));
          double& gm = group_max[(n / bn) * cols + k / bk];
          gm = std::max(gm, c);
          ASSERT_TRUE(std::isfinite(W[k * N + n]));
        }
      for (double gm : group_max) EXPECT_EQ(gm, 448.0) << L;
    }
  }
}
