// Differential tests of the fast float-format Linear implementations (inc_cpu.avx512.fp8_linear,
// inc_cpu.avx512.{mx_fp,nv_fp,mx_int}_linear) against the references (inc_cpu.ref.*), both run
// through the plugin's ABI on the same checkpoint: every FP8 scale granularity and element dtype,
// W8A8, MXFP4/MXFP8/NVFP4/MXINT4 with and without activation quantization, remainder shapes, every
// activation dtype, bias, negative scales, zero rows; options and refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "act_quant_fp8.hpp"
#include "bundle_tensors.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "fp8_weights.hpp"
#include "mx_act_quant.hpp"
#include "mx_weights.hpp"
#include "ref_fp8_linear.hpp"
#include "ref_mx_linear.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

using namespace float_fast_test;
using ::testing::HasSubstr;

namespace {

constexpr const char* kLayer = "model.layers.1.mlp.down_proj";

bool fast_cpu() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"); }

// ---------------------------------------------------------------- FP8

struct Fp8Scheme {
  int32_t wdtype = INCQ_DTYPE_F8_E4M3;
  int32_t packing = INCQ_PACKING_FP8;
  int32_t group = -1;  // 0 per tensor, -1 per channel, G
  int32_t block_n = 0, block_k = 0;
  int32_t scale_dtype = INCQ_DTYPE_F32;
  int32_t act_bits = 16;
  int32_t act_group = -1;
  bool bias = false;
};

std::string describe(const Fp8Scheme& s) {
  return std::string(s.wdtype == INCQ_DTYPE_F8_E4M3 ? "e4m3" : "e5m2") +
         (s.packing == INCQ_PACKING_FP8_BLOCK ? " block " + std::to_string(s.block_n) + "x" + std::to_string(s.block_k)
                                              : " group " + std::to_string(s.group)) +
         " scale " + incq::dtype_name(s.scale_dtype) + " act_bits " + std::to_string(s.act_bits) + " act_group " +
         std::to_string(s.act_group) + (s.bias ? " bias" : "");
}

incq_scheme fp8_scheme(const Fp8Scheme& s) {
  incq_scheme sc{};
  sc.struct_size = sizeof sc;
  sc.family = INCQ_FAMILY_FP8;
  sc.bits = 8;
  sc.group_size = s.packing == INCQ_PACKING_FP8_BLOCK ? 0 : s.group;
  sc.sym = 1;
  sc.packing = s.packing;
  sc.act_bits = s.act_bits;
  sc.act_dynamic = s.act_bits == 8 ? 1 : 0;
  sc.weight_dtype = s.wdtype;
  sc.block_n = s.block_n;
  sc.block_k = s.block_k;
  sc.act_family = s.act_bits == 8 ? INCQ_FAMILY_FP8 : INCQ_FAMILY_DENSE;
  sc.act_group_size = s.act_group;
  sc.act_sym = 1;
  return sc;
}

uint8_t random_fp8_code(Rng& r, int32_t dtype) {
  for (;;) {
    const uint8_t c = static_cast<uint8_t>(r.integer(0, 255));
    if (dtype == INCQ_DTYPE_F8_E4M3 && (c & 0x7F) == 0x7F) continue;  // NaN
    // E5M2 reaches 57344: exponents above 2^3 would overflow F16 outputs of both implementations.
    if (dtype == INCQ_DTYPE_F8_E5M2 && ((c >> 2) & 31) > 18) continue;
    return c;
  }
}

// `<prefix>weight`, its scales and bias, as an FP8 exporter writes them. Row 2 is all zero codes.
void add_fp8_matrix(BundleBuilder& b, const std::string& prefix, int64_t K, int64_t N, const Fp8Scheme& s, Rng& r) {
  std::vector<uint8_t> codes(static_cast<size_t>(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) codes[static_cast<size_t>(n * K + k)] = n == 2 ? 0 : random_fp8_code(r, s.wdtype);
  b.add(prefix + "weight", s.wdtype, {N, K}, codes);
  std::vector<int64_t> shape;
  std::string name = prefix + "weight_scale";
  if (s.packing == INCQ_PACKING_FP8_BLOCK) {
    shape = {(N + s.block_n - 1) / s.block_n, (K + s.block_k - 1) / s.block_k};
    name = prefix + "weight_scale_inv";
  } else if (s.group == 0) {
    shape = {1};
  } else if (s.group == -1) {
    shape = {N};
  } else {
    shape = {N, (K + s.group - 1) / s.group};
  }
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> scales(static_cast<size_t>(count));
  for (float& v : scales) v = random_scale(r);
  add_floats(b, name, s.scale_dtype, shape, scales);
  if (s.bias) {
    std::vector<float> bias(static_cast<size_t>(N));
    for (float& v : bias) v = static_cast<float>(r.uniform(-1, 1));
    add_floats(b, prefix + "bias", INCQ_DTYPE_BF16, {N}, bias);
  }
}

incq_layer_desc linear_desc(const incq_scheme& scheme, int32_t act_dtype, int64_t K, int64_t N, bool bias) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = kLayer;
  d.scheme = scheme;
  d.act_dtype = act_dtype;
  d.has_bias = bias ? 1 : 0;
  d.in_features = K;
  d.out_features = N;
  return d;
}

// mag[m, n] = sum_k |x'[m, k] w[n, k]| + |b[n]| from the reference's exact decoding.
template <typename WeightAt, typename BiasAt, typename Quantize>
std::vector<double> magnitudes(const Activations& x, int64_t N, WeightAt&& weight_at, BiasAt&& bias_at,
                               Quantize&& quantize) {
  const int64_t M = x.rows, K = x.cols;
  std::vector<double> mag(static_cast<size_t>(M * N));
  std::vector<double> row(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) row[static_cast<size_t>(k)] = x.get(m, k);
    quantize(row);
    for (int64_t n = 0; n < N; ++n) {
      double s = std::fabs(bias_at(n));
      for (int64_t k = 0; k < K; ++k) s += std::fabs(row[static_cast<size_t>(k)] * weight_at(n, k));
      mag[static_cast<size_t>(m * N + n)] = s;
    }
  }
  return mag;
}

// run_linear with one layer option (compute_type) given to create.
incq_status run_linear_with_option(const char* impl_name, const incq_layer_desc& desc, const incq_weight_bundle* bundle,
                                   const char* key, const char* value, Activations& x, Activations& y,
                                   std::string* msg) {
  const incq_impl_desc* impl = inc_cpu_harness::find_impl(impl_name);
  if (impl == nullptr) return INCQ_ERR_UNAVAILABLE;
  incq_device dev = inc_cpu_harness::cpu_device();
  incq_error err{sizeof(incq_error), 0, {}};
  incq_kv kv{key, value};
  incq_layer* h = nullptr;
  incq_status st = impl->create(impl->impl_ctx, &desc, &dev, &kv, 1, &h, &err);
  if (st == INCQ_OK) st = impl->set_weights(h, bundle, &err);
  if (st == INCQ_OK) st = impl->process_weights(h, &err);
  if (st == INCQ_OK) {
    incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
    incq_tensor xt = x.tensor(), yt = y.tensor();
    st = impl->apply_linear(h, &xt, &yt, &serial, &err);
  }
  if (h != nullptr) impl->destroy(h);
  *msg = err.message;
  return st;
}

// compute_type: nullptr = no option (auto).
void check_fp8_linear(const Fp8Scheme& s, int32_t act_dtype, int64_t M, int64_t K, int64_t N, uint32_t seed,
                      const char* compute_type = nullptr) {
  SCOPED_TRACE(describe(s) + " act " + incq::dtype_name(act_dtype) + " M=" + std::to_string(M) + " K=" +
               std::to_string(K) + " N=" + std::to_string(N) + " compute_type " +
               (compute_type != nullptr ? compute_type : "(none)"));
  Rng r(seed);
  BundleBuilder b;
  add_fp8_matrix(b, "", K, N, s, r);
  const incq_layer_desc d = linear_desc(fp8_scheme(s), act_dtype, K, N, s.bias);
  Activations x(act_dtype, M, K, K + 3);  // a row stride wider than K
  fill_activations(x, r);
  Activations y_ref(act_dtype, M, N), y_fast(act_dtype, M, N, N + 5);
  std::string msg;
  ASSERT_EQ(run_linear("inc_cpu.ref.fp8_linear", d, b.bundle(s.packing), x, y_ref, &msg), INCQ_OK) << msg;
  if (compute_type == nullptr) {
    ASSERT_EQ(run_linear("inc_cpu.avx512.fp8_linear", d, b.bundle(s.packing), x, y_fast, &msg), INCQ_OK) << msg;
  } else {
    ASSERT_EQ(run_linear_with_option("inc_cpu.avx512.fp8_linear", d, b.bundle(s.packing), "compute_type",
                                     compute_type, x, y_fast, &msg),
              INCQ_OK)
        << msg;
  }

  incq::inc_cpu::BundleTensors bt(b.bundle(s.packing), kLayer);
  const incq::inc_cpu::Fp8Matrix w = incq::inc_cpu::load_fp8_matrix(
      bt, kLayer, "", K, N, incq::inc_cpu::Fp8Format{s.wdtype, s.packing, s.group, s.block_n, s.block_k}, s.bias);
  const std::vector<double> mag = magnitudes(
      x, N, [&](int64_t n, int64_t k) { return w.weight_at(n, k); }, [&](int64_t n) { return w.bias_at(n); },
      [&](std::vector<double>& row) {
        if (s.act_bits != 8) return;
        std::vector<float> f(row.begin(), row.end());
        incq::inc_cpu::quantize_row_fp8_e4m3(f.data(), K, s.act_group, row.data());
      });
  EXPECT_EQ(compare(y_fast, y_ref, mag, incq::inc_cpu::kFloatFastTolerance, 1e-11), "");
}

class FloatFast : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fast_cpu()) GTEST_SKIP() << "this CPU lacks AVX-512 F/BW/VL/DQ: the fast kernels are not registered for it";
  }
};

TEST_F(FloatFast, Fp8EveryGranularityAndDtype) {
  std::vector<Fp8Scheme> schemes;
  for (int32_t wd : {INCQ_DTYPE_F8_E4M3, INCQ_DTYPE_F8_E5M2}) {
    for (int32_t g : {0, -1, 32, 48, 128}) {
      Fp8Scheme s;
      s.wdtype = wd;
      s.group = g;
      schemes.push_back(s);
    }
    Fp8Scheme blk;
    blk.wdtype = wd;
    blk.packing = INCQ_PACKING_FP8_BLOCK;
    blk.block_n = 16, blk.block_k = 32;
    schemes.push_back(blk);
    blk.block_n = 128, blk.block_k = 128;
    schemes.push_back(blk);
  }
  uint32_t seed = 1;
  for (size_t i = 0; i < schemes.size(); ++i) {
    Fp8Scheme s = schemes[i];
    s.scale_dtype = i % 3 == 0 ? INCQ_DTYPE_F32 : i % 3 == 1 ? INCQ_DTYPE_BF16 : INCQ_DTYPE_F16;
    s.bias = i % 2 == 0;
    const int32_t act = i % 3 == 0 ? INCQ_DTYPE_BF16 : i % 3 == 1 ? INCQ_DTYPE_F16 : INCQ_DTYPE_F32;
    for (int64_t M : {1, 2, 3, 7, 16, 33}) check_fp8_linear(s, act, M, 200, 37, seed++);
  }
}

TEST_F(FloatFast, Fp8RemainderShapesAndLargeM) {
  Fp8Scheme s;
  s.group = 128;
  s.scale_dtype = INCQ_DTYPE_BF16;
  s.bias = true;
  uint32_t seed = 100;
  for (int64_t K : {1, 15, 17, 129, 1100})
    for (int64_t N : {1, 5, 67}) check_fp8_linear(s, INCQ_DTYPE_BF16, 3, K, N, seed++);
  check_fp8_linear(s, INCQ_DTYPE_BF16, 512, 160, 70, seed++);
  check_fp8_linear(s, INCQ_DTYPE_F32, 40, 1500, 20, seed++);  // several 512-deep cache blocks
}

// bf16 activations with compute_type auto / bf16 and M <= 4 take the bf16 GEMV (weights decoded
// to bf16 through byte tables, vdpbf16ps) when the grid suits it: every element dtype, every grid
// it takes (one scale per row: per tensor / per channel; groups and blocks of a multiple of 64 K)
// and those it leaves to the fp32 path (32, 48, 96; 16x32, 3x96, 16x48 blocks), K within and across 64-blocks and off
// them, M = 1..5 (5 is past the GEMV), N off the 4-row tile; compute_type fp32 on the same layers.
TEST_F(FloatFast, Fp8Bf16GemvEveryGridAndRemainder) {
  std::vector<Fp8Scheme> schemes;
  for (int32_t wd : {INCQ_DTYPE_F8_E4M3, INCQ_DTYPE_F8_E5M2}) {
    for (int32_t g : {0, -1, 32, 48, 64, 96, 128}) {
      Fp8Scheme s;
      s.wdtype = wd;
      s.group = g;
      schemes.push_back(s);
    }
    for (auto [bn, bk] : {std::pair{16, 32}, std::pair{128, 128}, std::pair{3, 96}, std::pair{16, 48}, std::pair{5, 64}}) {
      Fp8Scheme blk;
      blk.wdtype = wd;
      blk.packing = INCQ_PACKING_FP8_BLOCK;
      blk.block_n = bn, blk.block_k = bk;
      schemes.push_back(blk);
    }
  }
  uint32_t seed = 300;
  for (size_t i = 0; i < schemes.size(); ++i) {
    Fp8Scheme s = schemes[i];
    s.scale_dtype = i % 3 == 0 ? INCQ_DTYPE_F32 : i % 3 == 1 ? INCQ_DTYPE_BF16 : INCQ_DTYPE_F16;
    s.bias = i % 2 == 1;
    const int64_t M = 1 + static_cast<int64_t>(i % 5);
    for (int64_t K : {31, 64, 100, 224, 417}) check_fp8_linear(s, INCQ_DTYPE_BF16, M, K, 13, seed++);
    check_fp8_linear(s, INCQ_DTYPE_BF16, 2, 200, 9, seed++, "bf16");
    check_fp8_linear(s, INCQ_DTYPE_BF16, 1, 200, 9, seed++, "fp32");
  }
  // Many groups over a long K, and a layer with several column blocks of the GEMV.
  Fp8Scheme s;
  s.group = 64;
  check_fp8_linear(s, INCQ_DTYPE_BF16, 4, 4100, 70, seed++);
  s.group = -1;
  s.bias = true;
  check_fp8_linear(s, INCQ_DTYPE_BF16, 1, 4096, 150, seed++);
}

TEST_F(FloatFast, Fp8W8A8) {
  uint32_t seed = 200;
  for (int32_t ag : {-1, 128, 32}) {
    Fp8Scheme s;
    s.packing = INCQ_PACKING_FP8_BLOCK;
    s.block_n = 128, s.block_k = 128;
    s.act_bits = 8;
    s.act_group = ag;
    s.scale_dtype = INCQ_DTYPE_F32;
    for (int64_t M : {1, 2, 7, 33}) check_fp8_linear(s, INCQ_DTYPE_BF16, M, 300, 45, seed++);
  }
}

TEST_F(FloatFast, Fp8NonFiniteActivationRefusedLikeTheReference) {
  Fp8Scheme s;
  s.act_bits = 8;
  s.act_group = 128;
  Rng r(7);
  BundleBuilder b;
  add_fp8_matrix(b, "", 64, 8, s, r);
  const incq_layer_desc d = linear_desc(fp8_scheme(s), INCQ_DTYPE_F32, 64, 8, false);
  Activations x(INCQ_DTYPE_F32, 3, 64);
  fill_activations(x, r);
  x.set(2, 5, NAN);
  Activations y(INCQ_DTYPE_F32, 3, 8);
  for (int64_t m = 0; m < 3; ++m)
    for (int64_t n = 0; n < 8; ++n) y.set(m, n, 42.0);
  std::string msg;
  EXPECT_EQ(run_linear("inc_cpu.avx512.fp8_linear", d, b.bundle(s.packing), x, y, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("x[2, 5] is NaN"));
  EXPECT_THAT(msg, HasSubstr(kLayer));
  for (int64_t m = 0; m < 3; ++m)
    for (int64_t n = 0; n < 8; ++n) EXPECT_EQ(y.get(m, n), 42.0);  // nothing written
}

TEST_F(FloatFast, OptionsComputeTypeAcceptedOthersRefused) {
  const incq_impl_desc* impl = inc_cpu_harness::find_impl("inc_cpu.avx512.fp8_linear");
  ASSERT_NE(impl, nullptr);
  Fp8Scheme s;
  const incq_layer_desc d = linear_desc(fp8_scheme(s), INCQ_DTYPE_BF16, 64, 8, false);
  incq_device dev = inc_cpu_harness::cpu_device();
  auto create = [&](const char* key, const char* value, std::string* msg) {
    incq_kv kv{key, value};
    incq_layer* h = nullptr;
    incq_error err{sizeof(incq_error), 0, {}};
    const incq_status st = impl->create(impl->impl_ctx, &d, &dev, &kv, 1, &h, &err);
    if (h != nullptr) impl->destroy(h);
    *msg = err.message;
    return st;
  };
  std::string msg;
  for (const char* v : {"auto", "fp32", "bf16"}) EXPECT_EQ(create("compute_type", v, &msg), INCQ_OK) << v << msg;
  EXPECT_EQ(create("compute_type", "int8", &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("int8"));
  EXPECT_THAT(msg, HasSubstr(kLayer));
  EXPECT_EQ(create("compute_type", "fp64", &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(create("tile", "4", &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("unknown option 'tile'"));
}

TEST_F(FloatFast, Fp8ResidentBytesEqualCheckpoint) {
  const incq_impl_desc* impl = inc_cpu_harness::find_impl("inc_cpu.avx512.fp8_linear");
  ASSERT_NE(impl, nullptr);
  Fp8Scheme s;
  s.group = 32;
  s.scale_dtype = INCQ_DTYPE_BF16;
  s.bias = true;
  Rng r(3);
  BundleBuilder b;
  add_fp8_matrix(b, "", 96, 40, s, r);
  inc_cpu_harness::Layer layer(impl, linear_desc(fp8_scheme(s), INCQ_DTYPE_BF16, 96, 40, true));
  ASSERT_EQ(layer.load(b.bundle(s.packing)), INCQ_OK) << layer.message;
  uint64_t bytes = 0;
  incq_error err{sizeof(incq_error), 0, {}};
  ASSERT_EQ(impl->resident_bytes(layer.handle, &bytes, &err), INCQ_OK);
  EXPECT_EQ(bytes, 96u * 40u + 40u * 3u * 2u + 40u * 2u);  // codes + BF16 scales + BF16 bias
}

}  // namespace
