// Differential tests of the fast block-scaled Linear implementations
// (inc_cpu.avx512.{mx_fp,nv_fp,mx_int}_linear) against the references (inc_cpu.ref.*_linear)
// through the ABI: MXFP4, MXFP8, NVFP4, MXINT4, weight-only and with activation quantization (whose
// bit-exactness the bound relies on: a different rounding decision in x' would be far outside it),
// remainder shapes, every activation dtype, bias, zero rows, resident bytes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bundle_tensors.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "mx_act_quant.hpp"
#include "mx_format.hpp"
#include "mx_weights.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

using namespace float_fast_test;

namespace {

constexpr const char* kLayer = "model.layers.4.self_attn.o_proj";

bool fast_cpu() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"); }

const char* fast_name(int32_t family) {
  return family == INCQ_FAMILY_MX_FP ? "inc_cpu.avx512.mx_fp_linear"
         : family == INCQ_FAMILY_NV_FP ? "inc_cpu.avx512.nv_fp_linear"
                                       : "inc_cpu.avx512.mx_int_linear";
}
const char* ref_name(int32_t family) {
  return family == INCQ_FAMILY_MX_FP ? "inc_cpu.ref.mx_fp_linear"
         : family == INCQ_FAMILY_NV_FP ? "inc_cpu.ref.nv_fp_linear"
                                       : "inc_cpu.ref.mx_int_linear";
}

incq_layer_desc linear_desc(const MxScheme& s, int32_t act_dtype, int64_t K, int64_t N) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = kLayer;
  d.scheme = mx_scheme(s);
  d.act_dtype = act_dtype;
  d.has_bias = s.bias ? 1 : 0;
  d.in_features = K;
  d.out_features = N;
  return d;
}

void check_mx_linear(const MxScheme& s, int32_t act_dtype, int64_t M, int64_t K, int64_t N, uint32_t seed) {
  SCOPED_TRACE(s.name() + " act " + incq::dtype_name(act_dtype) + " M=" + std::to_string(M) + " K=" +
               std::to_string(K) + " N=" + std::to_string(N));
  Rng r(seed);
  BundleBuilder b;
  add_mx_matrix(b, "", K, N, s, r);
  const incq_layer_desc d = linear_desc(s, act_dtype, K, N);
  Activations x(act_dtype, M, K, K + 2);
  fill_activations(x, r);
  Activations y_ref(act_dtype, M, N), y_fast(act_dtype, M, N);
  std::string msg;
  const auto* bundle = b.bundle(INCQ_PACKING_LLM_COMPRESSOR);
  ASSERT_EQ(run_linear(ref_name(s.family), d, bundle, x, y_ref, &msg), INCQ_OK) << msg;
  ASSERT_EQ(run_linear(fast_name(s.family), d, bundle, x, y_fast, &msg), INCQ_OK) << msg;

  incq::inc_cpu::MxFormat f;
  incq::inc_cpu::ActQuant aq;
  std::string why;
  ASSERT_TRUE(incq::inc_cpu::mx_format_of(s.family, s.bits, &f, &why)) << why;
  ASSERT_TRUE(incq::inc_cpu::act_quant_of(d.scheme.act_family, s.act_bits, d.scheme.act_group_size, &aq, &why)) << why;
  incq::inc_cpu::BundleTensors bt(bundle, kLayer);
  const incq::inc_cpu::MxMatrix w = incq::inc_cpu::load_mx_matrix(bt, kLayer, "", K, N, f, aq, s.bias);
  const int64_t grp = s.group();
  std::vector<double> mag(static_cast<size_t>(M * N));
  std::vector<double> row(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) row[static_cast<size_t>(k)] = x.get(m, k);
    incq::inc_cpu::act_quant_row(w.input_quant, row.data(), K);
    for (int64_t n = 0; n < N; ++n) {
      double sum = std::fabs(w.bias_at(n));
      for (int64_t k = 0; k < K; ++k)
        sum += std::fabs(row[static_cast<size_t>(k)] * w.element_at(n, k) * w.scale_at(n, k / grp) / w.weight_global_scale);
      mag[static_cast<size_t>(m * N + n)] = sum;
    }
  }
  EXPECT_EQ(compare(y_fast, y_ref, mag, incq::inc_cpu::kFloatFastTolerance, 1e-11), "");
}

std::vector<MxScheme> all_schemes() {
  std::vector<MxScheme> out;
  for (int32_t fam : {INCQ_FAMILY_MX_FP, INCQ_FAMILY_NV_FP, INCQ_FAMILY_MX_INT}) {
    for (int bits : {4, 8}) {
      if (bits == 8 && fam != INCQ_FAMILY_MX_FP) continue;
      for (int act : {16, bits}) {
        MxScheme s;
        s.family = fam;
        s.bits = bits;
        s.act_bits = act;
        s.bias = act == 16;
        out.push_back(s);
      }
    }
  }
  return out;
}

class FloatFastMx : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fast_cpu()) GTEST_SKIP() << "this CPU lacks AVX-512 F/BW/VL/DQ: the fast kernels are not registered for it";
  }
};

TEST_F(FloatFastMx, EverySchemeDecodeAndPrefillRows) {
  uint32_t seed = 1;
  int i = 0;
  for (const MxScheme& s : all_schemes()) {
    const int32_t act = i % 3 == 0 ? INCQ_DTYPE_BF16 : i % 3 == 1 ? INCQ_DTYPE_F16 : INCQ_DTYPE_F32;
    ++i;
    for (int64_t M : {1, 2, 3, 7, 16, 33}) check_mx_linear(s, act, M, 160, 37, seed++);
  }
}

TEST_F(FloatFastMx, RemainderShapesAndLargeM) {
  uint32_t seed = 300;
  for (const MxScheme& s : all_schemes()) {
    for (int64_t K : {s.group(), 3 * s.group(), int64_t{1088}}) check_mx_linear(s, INCQ_DTYPE_BF16, 3, K, 5, seed++);
  }
  MxScheme nv;
  nv.family = INCQ_FAMILY_NV_FP;
  nv.act_bits = 4;
  check_mx_linear(nv, INCQ_DTYPE_BF16, 512, 48, 70, seed++);  // K = 48: a last half block of 16
  MxScheme mx;
  check_mx_linear(mx, INCQ_DTYPE_F32, 40, 1600, 19, seed++);
}

TEST_F(FloatFastMx, ResidentBytesEqualCheckpoint) {
  MxScheme s;
  s.family = INCQ_FAMILY_NV_FP;
  Rng r(11);
  BundleBuilder b;
  add_mx_matrix(b, "", 64, 24, s, r);
  const incq_impl_desc* impl = inc_cpu_harness::find_impl(fast_name(s.family));
  ASSERT_NE(impl, nullptr);
  inc_cpu_harness::Layer layer(impl, linear_desc(s, INCQ_DTYPE_BF16, 64, 24));
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_LLM_COMPRESSOR)), INCQ_OK) << layer.message;
  uint64_t bytes = 0;
  incq_error err{sizeof(incq_error), 0, {}};
  ASSERT_EQ(impl->resident_bytes(layer.handle, &bytes, &err), INCQ_OK);
  EXPECT_EQ(bytes, 24u * 32u + 24u * 4u);  // nibbles + one E4M3 scale per 16
}

}  // namespace
