// The fast integer Linear implementations through the ABI (dlopen'ed plugin): registration and
// priorities, compute_type options, agreement with the reference implementations within the
// declared tolerances (docs/compute_modes.md), and the three threading paths giving identical
// results.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "act_quant_int8.hpp"
#include "int_fast_abi_support.hpp"

namespace {

using namespace int_fast_abi;
using int_fast_test::MatrixCase;

const incq_impl_desc* impl(const char* name) {
  const incq_impl_desc* d = find_impl(name);
  if (d == nullptr) ADD_FAILURE() << "implementation " << name << " not registered (plugin at " << plugin_path() << ")";
  return d;
}

Activations random_x(int32_t dtype, int64_t M, int64_t K, uint32_t seed) {
  Activations x(dtype, M, K, K + 3);  // strided rows
  const std::vector<float> v = int_fast_test::make_x(M, K, seed);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) x.set(m, k, v[m * K + k]);
  return x;
}

// Runs `fast` and `ref` on the same x and checks |y_fast - y_ref| <= tol * mag(x_eff) + roundings,
// with x_eff the activations the mode computes with (x, or its int8 quantization for `int8_x`).
void expect_close(const MatrixCase& c, const incq::inc_cpu::IntWoMatrix& m, Activations& x, const Activations& y_fast,
                  const Activations& y_ref, double tol, bool int8_x, const std::string& what) {
  const int64_t M = x.rows, K = c.K, N = c.N;
  for (int64_t r = 0; r < M; ++r) {
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) row[k] = static_cast<float>(x.get(r, k));
    std::vector<double> xe(row.begin(), row.end());
    if (int8_x) {
      std::vector<int8_t> q(static_cast<size_t>(K));
      const float s = incq::inc_cpu::quantize_row_int8(row.data(), K, q.data());
      for (int64_t k = 0; k < K; ++k) xe[k] = static_cast<double>(q[k]) * s;
    }
    for (int64_t n = 0; n < N; ++n) {
      double mag = std::fabs(m.bias_at(n));
      for (int64_t k = 0; k < K; ++k) mag += std::fabs(xe[k] * m.weight_at(k, n));
      const double a = y_fast.get(r, n), b = y_ref.get(r, n);
      const double bound = tol * mag + unit_roundoff(x.dtype) * (std::fabs(a) + std::fabs(b)) +
                           2 * half_smallest_subnormal(x.dtype);
      ASSERT_LE(std::fabs(a - b), bound) << what << " m " << r << " n " << n;
    }
  }
}

TEST(IntFastAbi, RegisteredAheadOfTheReferencesWithHonestPriorities) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.int_wo_linear");
  const incq_impl_desc* int8 = impl("inc_cpu.fast.int_wo_linear_int8");
  const incq_impl_desc* w4a8 = impl("inc_cpu.fast.w4a8_int_linear");
  const incq_impl_desc* ref = impl("inc_cpu.ref.int_wo_linear");
  const incq_impl_desc* w4a8_ref = impl("inc_cpu.ref.w4a8_int_linear");
  ASSERT_TRUE(fast && int8 && w4a8 && ref && w4a8_ref);
  EXPECT_GT(fast->priority, ref->priority);
  EXPECT_LT(int8->priority, ref->priority);   // lossy: only when chosen
  EXPECT_LT(int8->priority, w4a8_ref->priority);
  EXPECT_GT(w4a8->priority, w4a8_ref->priority);
  EXPECT_LT(w4a8->priority, ref->priority);   // a W4A16 layer keeps its exact path
  uint64_t bytes = 0;
  EXPECT_NE(fast->resident_bytes, nullptr);
  (void)bytes;
}

TEST(IntFastAbi, MatchesTheReferenceForEveryDtypeAndFormat) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.int_wo_linear");
  const incq_impl_desc* ref = impl("inc_cpu.ref.int_wo_linear");
  ASSERT_TRUE(fast && ref);
  std::vector<MatrixCase> cases;
  {
    MatrixCase c;  // the decode target's format: g128-style sym GPTQ v1 int4 (smaller), act order
    c.bits = 4; c.packing = INCQ_PACKING_GPTQ_V1; c.group_size = 64; c.sym = true; c.act_order = true;
    c.K = 256; c.N = 72; c.bias = true;
    cases.push_back(c);
    c.bits = 3; c.packing = INCQ_PACKING_GPTQ_V2; c.group_size = -1; c.sym = false; c.act_order = false;
    c.K = 320; c.N = 96; c.bias = false;
    cases.push_back(c);
    c.bits = 8; c.group_size = 32; c.K = 100; c.N = 36; c.bias = true;
    cases.push_back(c);
    c.bits = 2; c.packing = INCQ_PACKING_GPTQ_V1; c.K = 128; c.N = 48;
    cases.push_back(c);
    c.bits = 4; c.packing = INCQ_PACKING_AWQ; c.group_size = 32; c.K = 96; c.N = 40;
    cases.push_back(c);
  }
  uint32_t seed = 100;
  for (const MatrixCase& c : cases) {
    const auto m = int_fast_test::make_matrix(c, seed++);
    for (int32_t dt : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16}) {
      const incq_layer_desc d = linear_desc(c, dt, "model.layers.0.mlp.up_proj");
      ASSERT_EQ(why_not(fast, d), "OK");
      BundleBuilder b;
      add_tensors(b, m);
      Layer lf(fast, d), lr(ref, d);
      ASSERT_EQ(lf.status, INCQ_OK) << lf.message;
      ASSERT_EQ(lf.load(b.bundle(c.packing)), INCQ_OK) << lf.message;
      ASSERT_EQ(lr.load(b.bundle(c.packing)), INCQ_OK) << lr.message;
      uint64_t fast_bytes = 0, ref_bytes = 0;
      incq_error err{sizeof(incq_error), 0, {}};
      ASSERT_EQ(fast->resident_bytes(lf.handle, &fast_bytes, &err), INCQ_OK);
      ASSERT_EQ(ref->resident_bytes(lr.handle, &ref_bytes, &err), INCQ_OK);
      EXPECT_LE(static_cast<double>(fast_bytes), 1.05 * static_cast<double>(ref_bytes));
      for (int64_t M : {1, 3, 33}) {
        Activations x = random_x(dt, M, c.K, seed++);
        Activations yf(dt, M, c.N), yr(dt, M, c.N);
        std::string msg;
        ASSERT_EQ(apply_linear(lf, x, yf, &msg), INCQ_OK) << msg;
        ASSERT_EQ(apply_linear(lr, x, yr, &msg), INCQ_OK) << msg;
        expect_close(c, m, x, yf, yr, fast->tolerance, false,
                     "bits " + std::to_string(c.bits) + " dtype " + std::to_string(dt) + " M " + std::to_string(M));
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(IntFastAbi, ComputeTypeOptionIsCheckedAndNamed) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.int_wo_linear");
  const incq_impl_desc* int8 = impl("inc_cpu.fast.int_wo_linear_int8");
  ASSERT_TRUE(fast && int8);
  MatrixCase c;
  const incq_layer_desc d = linear_desc(c, INCQ_DTYPE_BF16, "model.layers.3.self_attn.o_proj");
  {
    OptLayer l(fast, d, {{"compute_type", "fp32"}});
    EXPECT_EQ(l.status, INCQ_OK) << l.message;
  }
  {
    OptLayer l(fast, d, {{"compute_type", "int8"}});
    EXPECT_EQ(l.status, INCQ_ERR_INVALID_ARGUMENT);
    EXPECT_NE(l.message.find("inc_cpu.fast.int_wo_linear_int8"), std::string::npos) << l.message;
    EXPECT_NE(l.message.find("o_proj"), std::string::npos) << l.message;
  }
  {
    OptLayer l(fast, d, {{"compute_type", "fp16"}});
    EXPECT_EQ(l.status, INCQ_ERR_INVALID_ARGUMENT);
    EXPECT_NE(l.message.find("compute_type"), std::string::npos) << l.message;
  }
  {
    OptLayer l(fast, d, {{"computetype", "bf16"}});
    EXPECT_EQ(l.status, INCQ_ERR_INVALID_ARGUMENT);
    EXPECT_NE(l.message.find("computetype"), std::string::npos) << l.message;
  }
  {
    OptLayer l(int8, d, {{"compute_type", "bf16"}});
    EXPECT_EQ(l.status, INCQ_ERR_INVALID_ARGUMENT) << l.message;
  }
  {
    OptLayer l(int8, d, {{"compute_type", "auto"}});
    EXPECT_EQ(l.status, INCQ_OK) << l.message;
  }
}

// fp32 mode is tighter than the shared descriptor tolerance: check it at its own bound, and check
// that bf16 mode really rounds x (F32 input) so the modes are not silently the same path.
TEST(IntFastAbi, Fp32AndBf16ModesMeetTheirOwnBounds) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.int_wo_linear");
  const incq_impl_desc* ref = impl("inc_cpu.ref.int_wo_linear");
  ASSERT_TRUE(fast && ref);
  MatrixCase c;
  c.K = 512; c.N = 40; c.group_size = 128; c.bias = true;
  const auto m = int_fast_test::make_matrix(c, 5);
  const incq_layer_desc d = linear_desc(c, INCQ_DTYPE_F32, "l");
  BundleBuilder b;
  add_tensors(b, m);
  OptLayer l32(fast, d, {{"compute_type", "fp32"}}), l16(fast, d, {{"compute_type", "bf16"}});
  Layer lr(ref, d);
  ASSERT_EQ(l32.load(b.bundle(c.packing)), INCQ_OK) << l32.message;
  ASSERT_EQ(l16.load(b.bundle(c.packing)), INCQ_OK) << l16.message;
  ASSERT_EQ(lr.load(b.bundle(c.packing)), INCQ_OK);
  Activations x = random_x(INCQ_DTYPE_F32, 4, c.K, 9);
  Activations y32(INCQ_DTYPE_F32, 4, c.N), y16(INCQ_DTYPE_F32, 4, c.N), yr(INCQ_DTYPE_F32, 4, c.N);
  ASSERT_EQ(l32.apply(x, y32), INCQ_OK);
  ASSERT_EQ(l16.apply(x, y16), INCQ_OK);
  ASSERT_EQ(apply_linear(lr, x, yr), INCQ_OK);
  // (256-row segments: 128 here) + 4 segments + 4 steps, fp32 unit roundoff
  expect_close(c, m, x, y32, yr, (128 + 4 + 4) * 0x1p-24, false, "fp32 mode");
  expect_close(c, m, x, y16, yr, 0x1p-9 + (128 + 4 + 4) * 0x1p-24, false, "bf16 mode");
  bool differs = false;
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t n = 0; n < c.N; ++n) differs = differs || y32.get(r, n) != y16.get(r, n);
  EXPECT_TRUE(differs) << "bf16 mode on F32 activations gave the fp32 result bit for bit";
}

TEST(IntFastAbi, Int8ModeMatchesTheOracleOnQuantizedActivations) {
  const incq_impl_desc* int8 = impl("inc_cpu.fast.int_wo_linear_int8");
  const incq_impl_desc* w4a8_ref = impl("inc_cpu.ref.w4a8_int_linear");
  ASSERT_TRUE(int8 && w4a8_ref);
  // Symmetric int4 g32 GPTQ: the W4A8 reference computes the same quantized-x product exactly.
  MatrixCase c;
  c.K = 192; c.N = 56; c.group_size = 32; c.bias = true;
  const auto m = int_fast_test::make_matrix(c, 21);
  for (int32_t dt : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16}) {
    // The W4A8 reference takes the layer as a W4A8 one (act_bits 8); the int8 mode runs it as W4A16.
    const incq_layer_desc d = linear_desc(c, dt, "l"), d8 = linear_desc(c, dt, "l", 8);
    BundleBuilder b;
    add_tensors(b, m);
    Layer li(int8, d), lr(w4a8_ref, d8);
    ASSERT_EQ(lr.status, INCQ_OK) << lr.message;
    ASSERT_EQ(li.load(b.bundle(c.packing)), INCQ_OK) << li.message;
    ASSERT_EQ(lr.load(b.bundle(c.packing)), INCQ_OK) << lr.message;
    for (int64_t M : {1, 2, 16, 33}) {
      Activations x = random_x(dt, M, c.K, 30 + static_cast<uint32_t>(M));
      Activations yi(dt, M, c.N), yr(dt, M, c.N);
      ASSERT_EQ(apply_linear(li, x, yi), INCQ_OK);
      ASSERT_EQ(apply_linear(lr, x, yr), INCQ_OK);
      expect_close(c, m, x, yi, yr, (6 + 4) * 0x1p-24, true, "int8 mode M " + std::to_string(M));
    }
  }
}

TEST(IntFastAbi, W4a8FastMatchesTheW4a8Reference) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.w4a8_int_linear");
  const incq_impl_desc* ref = impl("inc_cpu.ref.w4a8_int_linear");
  ASSERT_TRUE(fast && ref);
  for (int packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2}) {
    MatrixCase c;
    c.packing = packing; c.K = 256; c.N = 40; c.group_size = 64; c.bias = packing == INCQ_PACKING_GPTQ_V2;
    const auto m = int_fast_test::make_matrix(c, 40 + packing);
    const incq_layer_desc d = linear_desc(c, INCQ_DTYPE_BF16, "l", 8);
    ASSERT_EQ(why_not(fast, d), "OK");
    BundleBuilder b;
    add_tensors(b, m);
    Layer lf(fast, d), lr(ref, d);
    ASSERT_EQ(lf.load(b.bundle(c.packing)), INCQ_OK) << lf.message;
    ASSERT_EQ(lr.load(b.bundle(c.packing)), INCQ_OK) << lr.message;
    for (int64_t M : {1, 7, 33}) {
      Activations x = random_x(INCQ_DTYPE_BF16, M, c.K, 50 + static_cast<uint32_t>(M));
      Activations yf(INCQ_DTYPE_BF16, M, c.N), yr(INCQ_DTYPE_BF16, M, c.N);
      ASSERT_EQ(apply_linear(lf, x, yf), INCQ_OK);
      ASSERT_EQ(apply_linear(lr, x, yr), INCQ_OK);
      expect_close(c, m, x, yf, yr, fast->tolerance, true, "w4a8 M " + std::to_string(M));
    }
  }
  // Asymmetric or 3-bit: not W4A8; act-order: refused by the W4A8 contract's groups.
  MatrixCase bad;
  bad.sym = false;
  EXPECT_NE(why_not(fast, linear_desc(bad, INCQ_DTYPE_BF16, "l", 8)), "OK");
}

TEST(IntFastAbi, ThreadingPathsGiveIdenticalResults) {
  const incq_impl_desc* fast = impl("inc_cpu.fast.int_wo_linear");
  ASSERT_TRUE(fast);
  MatrixCase c;
  c.K = 256; c.N = 200; c.group_size = 32;
  const auto m = int_fast_test::make_matrix(c, 77);
  const incq_layer_desc d = linear_desc(c, INCQ_DTYPE_F32, "l");
  BundleBuilder b;
  add_tensors(b, m);
  Layer l(fast, d);
  ASSERT_EQ(l.load(b.bundle(c.packing)), INCQ_OK);
  Activations x = random_x(INCQ_DTYPE_F32, 5, c.K, 3);
  Activations y0(INCQ_DTYPE_F32, 5, c.N), y1(INCQ_DTYPE_F32, 5, c.N), y2(INCQ_DTYPE_F32, 5, c.N);
  const incq_exec host = halving_exec(), own = own_threads_exec(2);
  ASSERT_EQ(apply_linear(l, x, y0, nullptr, nullptr), INCQ_OK);
  ASSERT_EQ(apply_linear(l, x, y1, nullptr, &host), INCQ_OK);
  ASSERT_EQ(apply_linear(l, x, y2, nullptr, &own), INCQ_OK);
  EXPECT_EQ(std::memcmp(y0.bytes.data(), y1.bytes.data(), y0.bytes.size()), 0);
  EXPECT_EQ(std::memcmp(y0.bytes.data(), y2.bytes.data(), y0.bytes.size()), 0);
}

TEST(IntFastAbi, Int8ModeRefusesNonFiniteActivationsNamingThem) {
  const incq_impl_desc* int8 = impl("inc_cpu.fast.int_wo_linear_int8");
  ASSERT_TRUE(int8);
  MatrixCase c;
  const auto m = int_fast_test::make_matrix(c, 1);
  const incq_layer_desc d = linear_desc(c, INCQ_DTYPE_F32, "model.layers.9.mlp.down_proj");
  BundleBuilder b;
  add_tensors(b, m);
  Layer l(int8, d);
  ASSERT_EQ(l.load(b.bundle(c.packing)), INCQ_OK);
  Activations x = random_x(INCQ_DTYPE_F32, 2, c.K, 4), y(INCQ_DTYPE_F32, 2, c.N);
  x.set(1, 5, NAN);
  std::string msg;
  EXPECT_EQ(apply_linear(l, x, y, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("down_proj"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 5]"), std::string::npos) << msg;
}

}  // namespace
