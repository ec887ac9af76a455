// Differential tests of src/int_fast (the repacked integer layout and every kernel tier this
// machine can run) against the double-precision dequantize-then-matmul of the reference's
// IntWoMatrix, over every bits/sym/packing/grouping combination, act-order g_idx, remainder
// shapes (N not a multiple of the 16-column strip, K not a multiple of a tile, M = 1..33),
// negative and zero scales and an all-zero activation row.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "act_quant_int8.hpp"
#include "int_fast/int_matmul.hpp"
#include "int_fast/int_panel.hpp"
#include "int_fast/int_repack.hpp"
#include "int_fast_test_matrix.hpp"
#include "isa/cpu_isa.hpp"

namespace {

using namespace incq::inc_cpu;
using namespace incq::inc_cpu::int_fast;
using int_fast_test::MatrixCase;
using int_fast_test::all_cases;

struct Tier {
  std::string name;
  IntKernels k;
};

std::vector<Tier> runnable_tiers() {
  const isa::CpuFeatures f = isa::detected_features();
  std::vector<Tier> t;
  t.push_back({"scalar", {f32_qgw_gemm_scalar, qd8_f32_qgw_gemm_scalar, "", ""}});
  if (f.avx2) t.push_back({"avx2", {f32_qgw_gemm_4x16_avx2, qd8_f32_qgw_gemm_scalar, "", ""}});
  if (f.avx512vnni) {
    t.push_back({"avx512+vnni", {f32_qgw_gemm_4x32_avx512, qd8_f32_qgw_gemm_4x32_avx512vnni, "", ""}});
  } else if (f.avx512) {
    t.push_back({"avx512", {f32_qgw_gemm_4x32_avx512, qd8_f32_qgw_gemm_scalar, "", ""}});
  }
  return t;
}

std::string describe(const MatrixCase& c) {
  return "bits " + std::to_string(c.bits) + " packing " + std::to_string(c.packing) + " G " +
         std::to_string(c.group_size) + (c.sym ? " sym" : " asym") + (c.act_order ? " act-order" : "") + " K " +
         std::to_string(c.K) + " N " + std::to_string(c.N);
}

// Runs one mode on one tier and checks |y - oracle(x_eff)| <= bound * sum|x_eff w| (+|b|).
void check(const MatrixCase& c, const IntWoMatrix& src, const IntPackedMatrix& w, const Tier& tier, ComputeType ct,
           const std::vector<float>& x, int64_t M) {
  const int64_t K = c.K, N = c.N;
  std::vector<uint8_t> scratch(activation_scratch_bytes(w, ct, M) + 64);
  void* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
  const PreparedActivations a = prepare_activations(w, ct, x.data(), K, M, aligned);
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  // Two column ranges, as two threads would split them.
  const int64_t split = (N / 2) / kStripWidth * kStripWidth;
  int_matmul_columns(w, tier.k, a, 0, split, y.data(), N, true);
  int_matmul_columns(w, tier.k, a, split, N, y.data(), N, true);

  // The activations each mode computes with, exactly.
  std::vector<double> xe(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m) {
    if (ct == ComputeType::kInt8) {
      std::vector<int8_t> q(static_cast<size_t>(K));
      const float s = quantize_row_int8(x.data() + m * K, K, q.data());
      for (int64_t k = 0; k < K; ++k) xe[m * K + k] = static_cast<double>(q[k]) * s;
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const float v = x[m * K + k];
        xe[m * K + k] = ct == ComputeType::kBf16 ? incq::bf16_to_float(incq::float_to_bf16(v)) : v;
      }
    }
  }
  int64_t max_seg = 0;
  for (int64_t sg = 0; sg < w.num_segments(); ++sg) max_seg = std::max<int64_t>(max_seg, w.seg_begin(sg + 1) - w.seg_begin(sg));
  // fp32 accumulation inside a group (one rounding per FMA), one scaling, the sum over groups,
  // the bias: docs/compute_modes.md. int8 sums are exact, so only the fp32 steps count.
  const double u = std::ldexp(1.0, -24);
  const double factor = (ct == ComputeType::kInt8 ? 0 : max_seg) + w.num_segments() + 4;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double ref = src.bias_at(n), mag = std::fabs(src.bias_at(n));
      for (int64_t k = 0; k < K; ++k) {
        const double p = xe[m * K + k] * src.weight_at(k, n);
        ref += p;
        mag += std::fabs(p);
      }
      const double got = y[static_cast<size_t>(m * N + n)];
      ASSERT_LE(std::fabs(got - ref), factor * u * mag + 1e-30)
          << describe(c) << " tier " << tier.name << " mode " << compute_type_name(ct) << " m " << m << " n " << n
          << " M " << M;
    }
  }
}

TEST(IntFastKernels, EveryTierModeAndFormatMatchesTheOracle) {
  const auto tiers = runnable_tiers();
  uint32_t seed = 1;
  for (const MatrixCase& c : all_cases()) {
    const IntWoMatrix src = int_fast_test::make_matrix(c, seed++);
    const IntPackedMatrix w = repack_int_matrix(src);
    for (int64_t M : {1, 2, 3, 5, 7, 16, 33}) {
      const std::vector<float> x = int_fast_test::make_x(M, c.K, seed++);
      for (const Tier& t : tiers) {
        for (ComputeType ct : {ComputeType::kFp32, ComputeType::kBf16, ComputeType::kInt8}) {
          check(c, src, w, t, ct, x, M);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST(IntFastRepack, ResidentBytesStayWithinTheCheckpointFootprint) {
  for (const MatrixCase& c : all_cases()) {
    const IntWoMatrix src = int_fast_test::make_matrix(c, 7);
    const IntPackedMatrix w = repack_int_matrix(src);
    // The checkpoint's bytes: codes, zeros, fp16 scales, g_idx, bias. Rows padded to a whole tile
    // (K or an act-order group not a multiple of it: only these small test shapes) cost their codes.
    const double ckpt = static_cast<double>(src.resident_bytes());
    const double padding = static_cast<double>((w.K_int - c.K) * c.N * c.bits / 8);
    EXPECT_LE(static_cast<double>(w.resident_bytes()), 1.05 * ckpt + padding) << describe(c);
    if (w.K_int == c.K) EXPECT_LE(static_cast<double>(w.resident_bytes()), 1.05 * ckpt) << describe(c);
    EXPECT_EQ(w.k_source.empty(), !c.act_order && (c.group_size == -1 || c.group_size % w.k_tile == 0))
        << describe(c);
  }
}

TEST(IntFastRepack, ZerosSurviveRepackingForEveryWidth) {
  for (const MatrixCase& c : all_cases()) {
    const IntWoMatrix src = int_fast_test::make_matrix(c, 11);
    const IntPackedMatrix w = repack_int_matrix(src);
    for (int64_t g = 0; g < src.num_groups; ++g)
      for (int64_t n = 0; n < c.N; ++n) ASSERT_EQ(w.zero_at(g, n), src.zero_at(g, n)) << describe(c);
  }
}

TEST(IntFastIsa, CapSelectsLowerTiers) {
  const isa::CpuFeatures f = isa::detected_features();
  const isa::IsaTier before = isa::isa_cap();
  isa::set_isa_cap(isa::IsaTier::kBaseline);
  EXPECT_STREQ(select_int_kernels().f32_name, "f32_qgw_gemm_scalar");
  EXPECT_STREQ(select_int_kernels().qd8_name, "qd8_f32_qgw_gemm_scalar");
  isa::set_isa_cap(isa::IsaTier::kAvx2);
  EXPECT_STREQ(select_int_kernels().f32_name, f.avx2 ? "f32_qgw_gemm_4x16_avx2" : "f32_qgw_gemm_scalar");
  EXPECT_FALSE(isa::active_features().avx512);
  isa::set_isa_cap(isa::IsaTier::kAvx512Vnni);
  EXPECT_STREQ(select_int_kernels().qd8_name,
               f.avx512vnni ? "qd8_f32_qgw_gemm_4x32_avx512vnni" : "qd8_f32_qgw_gemm_scalar");
  EXPECT_FALSE(isa::active_features().avx512bf16);
  isa::set_isa_cap(before);
  EXPECT_THROW(isa::parse_isa_tier("avx1024"), incq::StatusError);
  EXPECT_EQ(isa::parse_isa_tier("avx512bf16"), isa::IsaTier::kAvx512Bf16);
  std::printf("detected: %s\n", f.describe().c_str());
}

}  // namespace

namespace {

// The prefill panels (int_panel.hpp) hold the checkpoint's weights at the internal rows.
TEST(IntFastPanels, Bf16AndU8PanelsHoldTheCheckpointWeights) {
  for (const MatrixCase& c : all_cases()) {
    const IntWoMatrix src = int_fast_test::make_matrix(c, 19);
    const IntPackedMatrix w = repack_int_matrix(src);
    auto source_row = [&](int64_t r) -> int64_t {
      if (!w.k_source.empty()) return w.k_source[static_cast<size_t>(r)];
      return r < c.K ? r : -1;
    };
    const int64_t nb = 32, n_blocks = (c.N + nb - 1) / nb;
    // bf16: an arbitrary K range per block (not group aligned), and the whole K.
    for (int64_t b = 0; b < n_blocks; ++b) {
      for (auto [k0, kc] : {std::pair<int64_t, int64_t>{0, w.K_int}, {w.k_tile, std::min<int64_t>(w.K_int - w.k_tile, 40)}}) {
        std::vector<uint16_t> panel(static_cast<size_t>((kc + 1) / 2 * nb * 2), 0xFFFF);
        produce_bf16_panel(w, b * nb, nb, k0, kc, panel.data());
        for (int64_t kk = 0; kk < kc; ++kk) {
          const int64_t ks = source_row(k0 + kk);
          for (int64_t j = 0; j < nb; ++j) {
            const int64_t n = b * nb + j;
            const uint16_t got = panel[static_cast<size_t>((kk / 2) * nb * 2 + j * 2 + kk % 2)];
            if (n >= c.N) {
              ASSERT_EQ(got, 0) << describe(c);
            } else if (ks >= 0) {
              ASSERT_EQ(got, incq::float_to_bf16(src.weight_at(ks, n))) << describe(c) << " k " << k0 + kk << " n " << n;
            }
          }
        }
      }
      // u8 codes + params, group by group.
      for (int64_t g = 0; g < w.num_groups; ++g) {
        const int64_t len = w.group_start[g + 1] - w.group_start[g];
        std::vector<uint8_t> panel(static_cast<size_t>(len * nb), 0xEE);
        std::vector<float> scale(nb);
        std::vector<int32_t> zero(nb);
        produce_u8_group_panel(w, b * nb, nb, g, panel.data());
        produce_group_params(w, b * nb, nb, g, scale.data(), zero.data());
        for (int64_t kk = 0; kk < len; ++kk) {
          const int64_t ks = source_row(w.group_start[g] + kk);
          for (int64_t j = 0; j < nb; ++j) {
            const int64_t n = b * nb + j;
            const uint8_t q = panel[static_cast<size_t>((kk / 4) * nb * 4 + j * 4 + kk % 4)];
            if (n >= c.N || ks < 0) {
              ASSERT_EQ(q, 0) << describe(c);
              continue;
            }
            ASSERT_EQ(src.group_of(ks), g) << describe(c);
            ASSERT_EQ(scale[j] * static_cast<float>(static_cast<int32_t>(q) - zero[j]), src.weight_at(ks, n))
                << describe(c) << " g " << g << " n " << n;
          }
        }
      }
    }
  }
}

}  // namespace

namespace {

// The vectorized activation preparation gives the scalar contract's results bit for bit
// (docs/formats.md §3 INT codes and scales; bf16 round to nearest even), ties included.
TEST(IntFastActivations, VectorQuantizationAndRoundingAreBitExact) {
  if (!isa::detected_features().avx512) GTEST_SKIP() << "no AVX-512 on this machine: " << isa::detected_features().describe();
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (int64_t K : {1, 15, 16, 17, 100, 1000}) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<float> x(static_cast<size_t>(K));
      for (auto& v : x) v = d(rng);
      if (variant == 1) {  // exact ties: x / s lands on k + 0.5 (s = 127 / 127 = 1 with max 127)
        for (int64_t k = 0; k < K; ++k) x[k] = static_cast<float>(k % 7) - 3.5f;
        x[0] = 127.0f;
      }
      if (variant == 2) std::fill(x.begin(), x.end(), 0.0f);
      std::vector<int8_t> q1(static_cast<size_t>(K)), q2(static_cast<size_t>(K));
      const float s1 = quantize_row_int8(x.data(), K, q1.data());
      const float s2 = quantize_row_int8_avx512(x.data(), K, q2.data());
      ASSERT_EQ(s1, s2) << "K " << K << " variant " << variant;
      ASSERT_EQ(q1, q2) << "K " << K << " variant " << variant;
      std::vector<float> r = x;
      round_row_bf16_avx512(r.data(), K);
      for (int64_t k = 0; k < K; ++k) ASSERT_EQ(r[k], incq::bf16_to_float(incq::float_to_bf16(x[k]))) << k;
    }
  }
}

}  // namespace
