// Differential tests of the fast MoE driver through its block-scaled implementations
// (inc_cpu.avx512.{mx_fp,nv_fp,mx_int}_moe) against the references: every format weight-only and
// with activation quantization (x' for gate/up, h' = Q(silu(g) * u) for down, each projection with
// its own quantizer), decode and prefill token counts, repeated and empty experts, bias.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bundle_tensors.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "mx_act_quant.hpp"
#include "mx_experts.hpp"
#include "mx_format.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

using namespace float_fast_test;

namespace {

constexpr const char* kLayer = "model.layers.5.mlp.experts";

bool fast_cpu() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"); }

const char* fast_name(int32_t family) {
  return family == INCQ_FAMILY_MX_FP ? "inc_cpu.avx512.mx_fp_moe"
         : family == INCQ_FAMILY_NV_FP ? "inc_cpu.avx512.nv_fp_moe"
                                       : "inc_cpu.avx512.mx_int_moe";
}
const char* ref_name(int32_t family) {
  return family == INCQ_FAMILY_MX_FP ? "inc_cpu.ref.mx_fp_moe"
         : family == INCQ_FAMILY_NV_FP ? "inc_cpu.ref.nv_fp_moe"
                                       : "inc_cpu.ref.mx_int_moe";
}

void check_mx_moe(const MxScheme& s, int32_t act_dtype, int64_t T, int64_t E, int64_t H, int64_t I, int32_t top_k,
                  uint32_t seed) {
  SCOPED_TRACE(s.name() + " act " + incq::dtype_name(act_dtype) + " T=" + std::to_string(T) + " E=" +
               std::to_string(E) + " H=" + std::to_string(H) + " I=" + std::to_string(I) + " top_k=" +
               std::to_string(top_k));
  Rng r(seed);
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = std::to_string(e) + ".";
    add_mx_matrix(b, p + "gate_proj.", H, I, s, r);
    add_mx_matrix(b, p + "up_proj.", H, I, s, r);
    add_mx_matrix(b, p + "down_proj.", I, H, s, r);
  }
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_MOE;
  d.name = kLayer;
  d.scheme = mx_scheme(s);
  d.act_dtype = act_dtype;
  d.has_bias = s.bias;
  d.num_experts = E;
  d.hidden_size = H;
  d.intermediate_size = I;
  d.top_k = top_k;
  Activations x(act_dtype, T, H);
  fill_activations(x, r, false);
  std::vector<int32_t> ids;
  std::vector<float> wts;
  make_routing(T, E, top_k, r, &ids, &wts);
  Activations y_ref(act_dtype, T, H), y_fast(act_dtype, T, H);
  std::string msg;
  const auto* bundle = b.bundle(INCQ_PACKING_LLM_COMPRESSOR);
  ASSERT_EQ(run_moe(ref_name(s.family), d, bundle, x, ids, wts, y_ref, &msg), INCQ_OK) << msg;
  ASSERT_EQ(run_moe(fast_name(s.family), d, bundle, x, ids, wts, y_fast, &msg), INCQ_OK) << msg;

  incq::inc_cpu::MxFormat f;
  incq::inc_cpu::ActQuant aq;
  std::string why;
  ASSERT_TRUE(incq::inc_cpu::mx_format_of(s.family, s.bits, &f, &why)) << why;
  ASSERT_TRUE(incq::inc_cpu::act_quant_of(d.scheme.act_family, s.act_bits, d.scheme.act_group_size, &aq, &why)) << why;
  incq::inc_cpu::BundleTensors bt(bundle, kLayer);
  const incq::inc_cpu::MxExperts ex = incq::inc_cpu::load_mx_experts(bt, kLayer, E, H, I, f, aq, s.bias);
  auto mat = [&](int e, Proj p) -> const incq::inc_cpu::MxMatrix& {
    const size_t i = static_cast<size_t>(e);
    return p == Proj::Gate ? ex.gate[i] : p == Proj::Up ? ex.up[i] : ex.down[i];
  };
  const int64_t grp = s.group();
  const std::vector<double> mag = moe_magnitudes(
      x, H, I, ids, wts, top_k,
      [&](int e, Proj p, int64_t n, int64_t k) {
        const auto& w = mat(e, p);
        return w.element_at(n, k) * w.scale_at(n, k / grp) / w.weight_global_scale;
      },
      [&](int e, Proj p, int64_t n) { return mat(e, p).bias_at(n); }, s.act_bits < 16 ? 2.0 : 1.0);
  EXPECT_EQ(compare(y_fast, y_ref, mag, incq::inc_cpu::kFloatFastTolerance, 1e-11), "");
}

class MoeFastMx : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fast_cpu()) GTEST_SKIP() << "this CPU lacks AVX-512 F/BW/VL/DQ: the fast kernels are not registered for it";
  }
};

TEST_F(MoeFastMx, EverySchemeDecodeAndPrefill) {
  uint32_t seed = 1;
  int i = 0;
  for (int32_t fam : {INCQ_FAMILY_MX_FP, INCQ_FAMILY_NV_FP, INCQ_FAMILY_MX_INT}) {
    for (int bits : {4, 8}) {
      if (bits == 8 && fam != INCQ_FAMILY_MX_FP) continue;
      for (int act : {16, bits}) {
        MxScheme s;
        s.family = fam;
        s.bits = bits;
        s.act_bits = act;
        s.bias = i % 2 == 1;
        const int32_t dt = i % 3 == 0 ? INCQ_DTYPE_BF16 : i % 3 == 1 ? INCQ_DTYPE_F16 : INCQ_DTYPE_F32;
        ++i;
        for (int64_t T : {1, 3, 17}) check_mx_moe(s, dt, T, 5, 96, 64, 3, seed++);
      }
    }
  }
}

TEST_F(MoeFastMx, NvOddBlockCount) {
  MxScheme s;
  s.family = INCQ_FAMILY_NV_FP;
  s.act_bits = 4;
  check_mx_moe(s, INCQ_DTYPE_BF16, 4, 4, 48, 80, 2, 77);  // H = 48, I = 80: half blocks of 16
}

}  // namespace
