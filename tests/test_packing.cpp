// The GPTQ v1/v2 and AWQ packers against the oracle's reader: bit-exact round trips over every
// bits/sym/group/g_idx combination, the format facts of DESIGN §4 checked on hand-made words, and
// every validation error of unpack_int.
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_order.hpp"
#include "quant/int_weights.hpp"
#include "quant/pack.hpp"
#include "quant/packing_layout.hpp"
#include "quant/unpack.hpp"

namespace q = incq::host::quant;
using ::testing::HasSubstr;

namespace {

const std::string kLayer = "model.layers.0.mlp.up_proj";

// Random codes, zeros the packing can hold, finite scales of both signs.
q::IntWeights random_weights(int64_t K, int64_t N, int bits, int G, bool sym, incq_packing packing, uint64_t seed) {
  std::mt19937_64 rng(seed);
  q::IntWeights w;
  w.K = K;
  w.N = N;
  w.bits = bits;
  w.group_size = G;
  w.sym = sym;
  const int64_t groups = w.num_groups();
  w.q.resize(K * N);
  for (auto& c : w.q) c = static_cast<uint8_t>(rng() % (1u << bits));
  const auto range = q::zero_range(bits, packing);
  w.zeros.resize(groups * N);
  for (auto& z : w.zeros)
    z = sym ? (1 << (bits - 1)) : range[0] + static_cast<int32_t>(rng() % (range[1] - range[0] + 1));
  w.scales.resize(groups * N);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (auto& s : w.scales) s = incq::float_to_half(u(rng));
  return w;
}

const q::PackedTensor& find(const std::vector<q::PackedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

q::IntWeights unpack_all(const std::vector<q::PackedTensor>& ts, const q::IntWeights& w, incq_packing packing) {
  const incq_tensor qw = q::tensor_view(find(ts, "qweight"));
  const incq_tensor qz = q::tensor_view(find(ts, "qzeros"));
  const incq_tensor sc = q::tensor_view(find(ts, "scales"));
  incq_tensor gi{};
  const bool has_g = ts.size() == 4;
  if (has_g) gi = q::tensor_view(find(ts, "g_idx"));
  return q::unpack_int(kLayer, qw, qz, sc, has_g ? &gi : nullptr, w.K, w.N, w.bits, w.group_size, w.sym, packing);
}

uint32_t word(const q::PackedTensor& t, size_t i) {
  uint32_t v;
  std::memcpy(&v, t.bytes.data() + 4 * i, 4);
  return v;
}

// An IntWeights whose codes, zeros and scales are all zero except what a test sets.
q::IntWeights blank(int64_t K, int64_t N, int bits, int G, bool sym, int32_t zero) {
  q::IntWeights w;
  w.K = K, w.N = N, w.bits = bits, w.group_size = G, w.sym = sym;
  w.q.assign(K * N, 0);
  w.zeros.assign(w.num_groups() * N, zero);
  w.scales.assign(w.num_groups() * N, incq::float_to_half(1.0f));
  return w;
}

struct RoundTripCase {
  incq_packing packing;
  int bits;
  bool sym;
  int G;
  int g_mode;  // 0: no g_idx tensor; 1: g_idx tensor of k/G; 2: act-order g_idx
  int64_t K, N;
};

std::string case_name(const RoundTripCase& c) {
  return q::packing_name(c.packing) + "_b" + std::to_string(c.bits) + (c.sym ? "_sym" : "_asym") + "_G" +
         (c.G < 0 ? std::string("m1") : std::to_string(c.G)) + "_gidx" + std::to_string(c.g_mode) + "_K" +
         std::to_string(c.K) + "_N" + std::to_string(c.N);
}

std::vector<RoundTripCase> round_trip_cases() {
  std::vector<RoundTripCase> out;
  // K = 384: divisible by 32, 64, 128 and 96; G = 80 does not divide it (5 groups, the last of 64);
  // G = 512 > K is one group. N = 64 fits every GPTQ width and AWQ.
  for (incq_packing p : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2, INCQ_PACKING_AWQ})
    for (int bits : {2, 3, 4, 8}) {
      if (p == INCQ_PACKING_AWQ && bits != 4) continue;
      for (bool sym : {true, false})
        for (int G : {-1, 32, 64, 128, 96, 80, 512})
          for (int g_mode : {0, 1, 2}) out.push_back({p, bits, sym, G, g_mode, 384, 64});
    }
  // AWQ has no constraint on K and only N % 8 on N.
  for (int g_mode : {0, 2}) out.push_back({INCQ_PACKING_AWQ, 4, false, 32, g_mode, 100, 40});
  return out;
}

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, PackThenUnpackIsBitExact) {
  const RoundTripCase& c = GetParam();
  q::IntWeights w = random_weights(c.K, c.N, c.bits, c.G, c.sym, c.packing, 1234 + c.bits * 7 + c.G);
  if (c.g_mode == 2) w.g_idx = q::make_act_order_g_idx(c.K, c.G, 99);
  const auto ts = q::pack_int(w, c.packing, c.g_mode != 0);
  ASSERT_EQ(ts.size(), c.g_mode != 0 ? 4u : 3u);
  const q::IntWeights r = unpack_all(ts, w, c.packing);
  EXPECT_EQ(r.q, w.q);
  EXPECT_EQ(r.zeros, w.zeros);
  EXPECT_EQ(r.scales, w.scales);
  ASSERT_EQ(r.num_groups(), w.num_groups());
  for (int64_t k = 0; k < c.K; ++k) ASSERT_EQ(r.group_of(k), w.group_of(k)) << "k=" << k;
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, RoundTrip, ::testing::ValuesIn(round_trip_cases()),
                         [](const auto& info) { return case_name(info.param); });

TEST(ActOrder, EveryGroupGetsGRowsAndRowsAreScattered) {
  const auto g = q::make_act_order_g_idx(100, 32, 5);
  std::vector<int> count(4, 0);
  for (int32_t v : g) {
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 4);
    ++count[v];
  }
  EXPECT_EQ(count, (std::vector<int>{32, 32, 32, 4}));
  int monotone_breaks = 0;
  for (size_t k = 1; k < g.size(); ++k) monotone_breaks += g[k] < g[k - 1];
  EXPECT_GT(monotone_breaks, 0) << "a permuted assignment is not sorted";
  EXPECT_EQ(g, q::make_act_order_g_idx(100, 32, 5));
  EXPECT_NE(g, q::make_act_order_g_idx(100, 32, 6));
}

// ---- DESIGN §4 facts on hand-derived words ----

uint32_t sym_zero_word(incq_packing p, int bits) {
  const q::IntWeights w = blank(64, 64, bits, 32, true, 1 << (bits - 1));
  const auto ts = q::pack_int(w, p, false);
  const auto& qz = find(ts, "qzeros");
  const uint32_t first = word(qz, 0);
  for (size_t i = 0; i < qz.bytes.size() / 4; ++i) EXPECT_EQ(word(qz, i), first) << "word " << i;
  return first;
}

TEST(GptqFacts, SymmetricZeroWords) {
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V1, 4), 0x77777777u);
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V1, 8), 0x7F7F7F7Fu);
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V1, 2), 0x55555555u);
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V2, 4), 0x88888888u);
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V2, 8), 0x80808080u);
  EXPECT_EQ(sym_zero_word(INCQ_PACKING_GPTQ_V2, 2), 0xAAAAAAAAu);
}

TEST(GptqFacts, FourBitElementPosition) {
  // Element k at bits (k % 8)*4 of word k/8: k = 13 -> word 1, bits 20..23.
  q::IntWeights w = blank(32, 8, 4, -1, false, 0);
  w.q[13 * 8 + 2] = 0xA;
  const auto ts = q::pack_int(w, INCQ_PACKING_GPTQ_V2, false);
  const auto& qw = find(ts, "qweight");
  ASSERT_EQ(qw.shape, (std::vector<int64_t>{4, 8}));
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(word(qw, i), i == 1 * 8 + 2 ? 0x00A00000u : 0u) << "word " << i;
}

// 3-bit: value 10 (code 5 = 0b101) sits at stream bits 30..32, value 21 (code 3 = 0b011) at 63..65:
// word0 = bit30 -> 0x40000000; word1 = bit0 (5's top bit) | bit31 (3's low bit) -> 0x80000001;
// word2 = bit0 (3's middle bit) -> 0x00000001.
TEST(GptqFacts, ThreeBitStreamSpansWords) {
  q::IntWeights w = blank(32, 32, 3, -1, false, 0);
  w.q[10 * 32 + 0] = 5;
  w.q[21 * 32 + 0] = 3;
  w.zeros[10] = 5;
  w.zeros[21] = 3;
  const auto ts = q::pack_int(w, INCQ_PACKING_GPTQ_V2, false);
  const auto& qw = find(ts, "qweight");
  ASSERT_EQ(qw.shape, (std::vector<int64_t>{3, 32}));
  const uint32_t expected[3] = {0x40000000u, 0x80000001u, 0x00000001u};
  for (int r = 0; r < 3; ++r)
    for (int n = 0; n < 32; ++n) EXPECT_EQ(word(qw, r * 32 + n), n == 0 ? expected[r] : 0u) << r << "," << n;
  const auto& qz = find(ts, "qzeros");
  ASSERT_EQ(qz.shape, (std::vector<int64_t>{1, 3}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(word(qz, i), expected[i]);

  // And the reader takes the same hand-made words apart.
  const q::IntWeights r = unpack_all(ts, w, INCQ_PACKING_GPTQ_V2);
  EXPECT_EQ(r.q[10 * 32], 5);
  EXPECT_EQ(r.q[21 * 32], 3);
  EXPECT_EQ(r.q[11 * 32], 0);
  EXPECT_EQ(r.zeros[10], 5);
  EXPECT_EQ(r.zeros[21], 3);
}

TEST(GptqFacts, V1StoresZeroMinusOne) {
  q::IntWeights w = blank(32, 8, 4, -1, false, 1);
  w.zeros[0] = 16;  // stored 15: the largest zero v1 can hold
  w.zeros[1] = 3;   // stored 2
  const auto ts = q::pack_int(w, INCQ_PACKING_GPTQ_V1, false);
  const auto& qz = find(ts, "qzeros");
  EXPECT_EQ(word(qz, 0), 0x0000002Fu);
  w.zeros[0] = 0;  // zero - 1 = -1 has no field to go to
  EXPECT_THAT([&] { q::pack_int(w, INCQ_PACKING_GPTQ_V1, false); },
              ::testing::ThrowsMessage<incq::host::Error>(HasSubstr("zero[0, 0] = 0 cannot be stored by GPTQ_V1")));
}

// Nibble slot i holds column order[i] = [0,2,4,6,1,3,5,7]: columns c = 0..7 with value c+1 give
// slots (low to high) 1,3,5,7,2,4,6,8 -> 0x86427531. Zeros are stored raw in the same order.
TEST(AwqFacts, NibbleOrder) {
  q::IntWeights w = blank(1, 16, 4, -1, false, 0);
  for (int c = 0; c < 8; ++c) {
    w.q[c] = static_cast<uint8_t>(c + 1);
    w.zeros[c] = c + 1;
    w.q[8 + c] = static_cast<uint8_t>(15 - c);
  }
  const auto ts = q::pack_int(w, INCQ_PACKING_AWQ, false);
  const auto& qw = find(ts, "qweight");
  ASSERT_EQ(qw.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(word(qw, 0), 0x86427531u);
  EXPECT_EQ(word(qw, 1), 0x8ACE9BDFu);  // 15-c: slots (low to high) 15,13,11,9,14,12,10,8
  EXPECT_EQ(word(find(ts, "qzeros"), 0), 0x86427531u);
  const q::IntWeights r = unpack_all(ts, w, INCQ_PACKING_AWQ);
  EXPECT_EQ(r.q, w.q);
  EXPECT_EQ(r.zeros, w.zeros);
}

// ---- reader: strided and unaligned tensors ----

TEST(Unpack, ReadsUnalignedAndStridedTensors) {
  const q::IntWeights w = random_weights(128, 32, 4, 32, false, INCQ_PACKING_GPTQ_V2, 7);
  const auto ts = q::pack_int(w, INCQ_PACKING_GPTQ_V2, false);
  // qweight one byte past an aligned address.
  std::vector<uint8_t> shifted(find(ts, "qweight").bytes.size() + 1);
  std::memcpy(shifted.data() + 1, find(ts, "qweight").bytes.data(), shifted.size() - 1);
  incq_tensor qw = q::tensor_view(find(ts, "qweight"));
  qw.data = shifted.data() + 1;
  // scales stored transposed (column-major), described by strides.
  const auto& sc_src = find(ts, "scales");
  const int64_t G = sc_src.shape[0], N = sc_src.shape[1];
  std::vector<uint16_t> transposed(G * N);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t n = 0; n < N; ++n) std::memcpy(&transposed[n * G + g], sc_src.bytes.data() + 2 * (g * N + n), 2);
  incq_tensor sc = q::tensor_view(sc_src);
  sc.data = transposed.data();
  sc.strides[0] = 1;
  sc.strides[1] = G;
  // qzeros reached through byte_offset.
  std::vector<uint8_t> padded(find(ts, "qzeros").bytes.size() + 8);
  std::memcpy(padded.data() + 8, find(ts, "qzeros").bytes.data(), padded.size() - 8);
  incq_tensor qz = q::tensor_view(find(ts, "qzeros"));
  qz.data = padded.data();
  qz.byte_offset = 8;
  const q::IntWeights r = q::unpack_int(kLayer, qw, qz, sc, nullptr, 128, 32, 4, 32, false, INCQ_PACKING_GPTQ_V2);
  EXPECT_EQ(r.q, w.q);
  EXPECT_EQ(r.zeros, w.zeros);
  EXPECT_EQ(r.scales, w.scales);
}

// ---- reader: every validation error ----

class UnpackErrors : public ::testing::Test {
 protected:
  // A valid 4-bit GPTQ v2 asym layer, K = 128, N = 64, G = 32 (4 groups), with g_idx.
  void SetUp() override {
    w = random_weights(128, 64, 4, 32, false, INCQ_PACKING_GPTQ_V2, 3);
    ts = q::pack_int(w, INCQ_PACKING_GPTQ_V2, true);
    qw = q::tensor_view(ts[0]);
    qz = q::tensor_view(ts[1]);
    sc = q::tensor_view(ts[2]);
    gi = q::tensor_view(ts[3]);
  }
  q::IntWeights read(int64_t K = 128, int64_t N = 64, int bits = 4, int G = 32, bool sym = false,
                     incq_packing p = INCQ_PACKING_GPTQ_V2, bool with_g = true) {
    return q::unpack_int(kLayer, qw, qz, sc, with_g ? &gi : nullptr, K, N, bits, G, sym, p);
  }
  void expect_error(const std::vector<std::string>& parts, const std::function<void()>& f) {
    try {
      f();
      ADD_FAILURE() << "no error";
    } catch (const incq::host::Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(kLayer + ": ", 0), 0u) << msg;
      for (const auto& p : parts) EXPECT_THAT(msg, HasSubstr(p));
    }
  }
  q::IntWeights w;
  std::vector<q::PackedTensor> ts;
  incq_tensor qw{}, qz{}, sc{}, gi{};
};

TEST_F(UnpackErrors, ValidLayerReads) { EXPECT_EQ(read().q, w.q); }

TEST_F(UnpackErrors, ArgumentsThePackingCannotHold) {
  expect_error({"AWQ holds 4 bits only, not 3"}, [&] { read(128, 64, 3, 32, false, INCQ_PACKING_AWQ); });
  expect_error({"AWQ needs N % 8 == 0 (N=60)"}, [&] { read(128, 60, 4, 32, false, INCQ_PACKING_AWQ); });
  expect_error({"GPTQ needs K*bits % 32 == 0 (K=100, bits=4)"}, [&] { read(100); });
  expect_error({"GPTQ needs N*bits % 32 == 0 (N=36, bits=4)"}, [&] { read(128, 36); });
  expect_error({"GPTQ_V2 holds 2, 3, 4 or 8 bits, not 5"}, [&] { read(128, 64, 5); });
  expect_error({"group_size=0"}, [&] { read(128, 64, 4, 0); });
  expect_error({"not an integer packing"}, [&] { read(128, 64, 4, 32, false, INCQ_PACKING_FP8); });
}

TEST_F(UnpackErrors, Dtypes) {
  qw.dtype = INCQ_DTYPE_F32;
  expect_error({"qweight: dtype F32, expected I32"}, [&] { read(); });
  qw.dtype = INCQ_DTYPE_I32;
  qz.dtype = INCQ_DTYPE_U32;
  expect_error({"qzeros: dtype U32, expected I32"}, [&] { read(); });
  qz.dtype = INCQ_DTYPE_I32;
  sc.dtype = INCQ_DTYPE_BF16;
  expect_error({"scales: dtype BF16, expected F16"}, [&] { read(); });
  sc.dtype = INCQ_DTYPE_F16;
  gi.dtype = INCQ_DTYPE_I64;
  expect_error({"g_idx: dtype I64, expected I32"}, [&] { read(); });
}

TEST_F(UnpackErrors, Shapes) {
  qw.ndim = 1;
  expect_error({"qweight: ndim 1, expected 2"}, [&] { read(); });
  qw.ndim = 2;
  qw.shape[0] = 15;
  expect_error({"qweight: shape [15, 64], expected [16, 64] (K*bits/32 x N)"}, [&] { read(); });
  qw.shape[0] = 16;
  qz.shape[1] = 16;
  expect_error({"qzeros: shape [4, 16], expected [4, 8] (ceil(K/G) x N*bits/32)"}, [&] { read(); });
  qz.shape[1] = 8;
  sc.shape[0] = 3;
  expect_error({"scales: shape [3, 64], expected [4, 64] (ceil(K/G) x N)"}, [&] { read(); });
  sc.shape[0] = 4;
  gi.shape[0] = 127;
  expect_error({"g_idx: shape [127], expected [128] (K)"}, [&] { read(); });
}

TEST_F(UnpackErrors, ExactShapeMessage) {
  sc.shape[0] = 3;
  try {
    read();
    FAIL() << "no error";
  } catch (const incq::host::Error& e) {
    EXPECT_STREQ(e.what(), "model.layers.0.mlp.up_proj: scales: shape [3, 64], expected [4, 64] (ceil(K/G) x N)");
  }
}

TEST_F(UnpackErrors, AwqShapeMeanings) {
  const q::IntWeights a = random_weights(64, 32, 4, 32, false, INCQ_PACKING_AWQ, 4);
  const auto at = q::pack_int(a, INCQ_PACKING_AWQ, false);
  incq_tensor aqw = q::tensor_view(at[0]), aqz = q::tensor_view(at[1]), asc = q::tensor_view(at[2]);
  aqw.shape[1] = 5;
  expect_error({"qweight: shape [64, 5], expected [64, 4] (K x N/8)"},
               [&] { q::unpack_int(kLayer, aqw, aqz, asc, nullptr, 64, 32, 4, 32, false, INCQ_PACKING_AWQ); });
}

TEST_F(UnpackErrors, NonFiniteScales) {
  auto* s = static_cast<uint16_t*>(sc.data);
  s[2 * 64 + 5] = 0x7E00;  // NaN
  expect_error({"scales[2, 5] is NaN"}, [&] { read(); });
  s[2 * 64 + 5] = 0x3C00;
  s[3 * 64 + 63] = 0xFC00;  // -Inf
  expect_error({"scales[3, 63] is -Inf"}, [&] { read(); });
}

TEST_F(UnpackErrors, GIdxOutOfRange) {
  auto* g = static_cast<int32_t*>(gi.data);
  g[7] = 4;
  expect_error({"g_idx[7] = 4, expected in [0, 4) (ceil(K/G) groups)"}, [&] { read(); });
  g[7] = -1;
  expect_error({"g_idx[7] = -1"}, [&] { read(); });
}

TEST_F(UnpackErrors, SymmetricZerosExposeAWrongV1V2Convention) {
  // A symmetric v2 checkpoint (zeros 8, words 0x88888888) declared as v1 reads zeros of 9.
  const q::IntWeights s = random_weights(128, 64, 4, 32, true, INCQ_PACKING_GPTQ_V2, 5);
  const auto st = q::pack_int(s, INCQ_PACKING_GPTQ_V2, false);
  const incq_tensor a = q::tensor_view(st[0]), b = q::tensor_view(st[1]), c = q::tensor_view(st[2]);
  expect_error({"qzeros[0, 0]: zero point 9 under GPTQ_V1, expected 8 (2^(bits-1))", "v1 stores zero-1"},
               [&] { q::unpack_int(kLayer, a, b, c, nullptr, 128, 64, 4, 32, true, INCQ_PACKING_GPTQ_V1); });
  EXPECT_NO_THROW(q::unpack_int(kLayer, a, b, c, nullptr, 128, 64, 4, 32, true, INCQ_PACKING_GPTQ_V2));
}

TEST_F(UnpackErrors, DeviceDataAndStructSize) {
  qw.device_type = INCQ_DEVICE_OPENCL;
  expect_error({"qweight: device_type 2, expected CPU"}, [&] { read(); });
  qw.device_type = INCQ_DEVICE_CPU;
  qz.data = nullptr;
  expect_error({"qzeros: data is NULL"}, [&] { read(); });
  qz = q::tensor_view(ts[1]);
  sc.struct_size = 8;
  expect_error({"scales: struct_size 8 is too small"}, [&] { read(); });
}

// ---- infer_kn and the packer's own refusals ----

TEST(InferKn, FromQweightShape) {
  EXPECT_EQ(q::infer_kn({48, 64}, 4, INCQ_PACKING_GPTQ_V1), std::make_pair(int64_t{384}, int64_t{64}));
  EXPECT_EQ(q::infer_kn({36, 64}, 3, INCQ_PACKING_GPTQ_V2), std::make_pair(int64_t{384}, int64_t{64}));
  EXPECT_EQ(q::infer_kn({96, 64}, 8, INCQ_PACKING_GPTQ_V2), std::make_pair(int64_t{384}, int64_t{64}));
  EXPECT_EQ(q::infer_kn({384, 8}, 4, INCQ_PACKING_AWQ), std::make_pair(int64_t{384}, int64_t{64}));
  EXPECT_THAT([] { q::infer_kn({1, 64}, 3, INCQ_PACKING_GPTQ_V2); },
              ::testing::ThrowsMessage<incq::host::Error>(HasSubstr("rows*32 is not a multiple of bits")));
  EXPECT_THAT([] { q::infer_kn({48, 64, 1}, 4, INCQ_PACKING_GPTQ_V2); },
              ::testing::ThrowsMessage<incq::host::Error>(HasSubstr("expected 2 dimensions")));
  EXPECT_THAT([] { q::infer_kn({48, 8}, 2, INCQ_PACKING_AWQ); },
              ::testing::ThrowsMessage<incq::host::Error>(HasSubstr("AWQ holds 4 bits only")));
}

TEST(PackRefuses, WhatThePackingCannotHold) {
  auto refuses = [](const q::IntWeights& w, incq_packing p, const std::string& part) {
    EXPECT_THAT([&] { q::pack_int(w, p, false); }, ::testing::ThrowsMessage<incq::host::Error>(HasSubstr(part)));
  };
  refuses(blank(64, 12, 4, -1, false, 0), INCQ_PACKING_AWQ, "AWQ needs N % 8 == 0 (N=12)");
  refuses(blank(64, 64, 8, -1, false, 0), INCQ_PACKING_AWQ, "AWQ holds 4 bits only, not 8");
  refuses(blank(64, 48, 3, -1, false, 0), INCQ_PACKING_GPTQ_V2, "N*bits % 32 == 0 (N=48, bits=3)");
  refuses(blank(48, 64, 3, -1, false, 0), INCQ_PACKING_GPTQ_V2, "K*bits % 32 == 0 (K=48, bits=3)");
  q::IntWeights big = blank(32, 8, 4, -1, false, 0);
  big.q[9] = 16;
  refuses(big, INCQ_PACKING_GPTQ_V2, "code q[1, 1] = 16 does not fit 4 bits");
  q::IntWeights z = blank(32, 8, 4, -1, false, 0);
  z.zeros[3] = 16;
  refuses(z, INCQ_PACKING_AWQ, "zero[0, 3] = 16 cannot be stored by AWQ (holds [0, 15])");
  q::IntWeights g = blank(32, 8, 4, 16, false, 0);
  g.g_idx.assign(32, 0);
  g.g_idx[5] = 2;
  refuses(g, INCQ_PACKING_GPTQ_V2, "g_idx[5] = 2 not in [0, 2)");
}

}  // namespace
