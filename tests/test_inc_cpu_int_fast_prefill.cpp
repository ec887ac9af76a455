// Differential tests of the fast integer Linear's prefill path (src/int_fast/int_prefill.hpp: the
// src/gemm GEMMs over panels decoded from the internal layout) against the double-precision oracle
// of the reference's IntWoMatrix: bf16 and int8 modes, bits 2/3/4/8, sym/asym, GPTQ v1/v2/AWQ,
// G = 32 / -1 / act order, K not a tile multiple, N not a panel multiple, M = 16, 33, 64 (512 on
// one shape), serial and through a host-style parallel_for (several GEMM work items), zero rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "act_quant_int8.hpp"
#include "int_fast/int_fast_support.hpp"
#include "int_fast/int_prefill.hpp"
#include "int_fast/int_repack.hpp"
#include "int_fast_test_matrix.hpp"
#include "isa/cpu_isa.hpp"

namespace {

using namespace incq::inc_cpu;
using namespace incq::inc_cpu::int_fast;
using int_fast_test::MatrixCase;
using int_fast_test::all_cases;

std::string describe(const MatrixCase& c) {
  return "bits " + std::to_string(c.bits) + " packing " + std::to_string(c.packing) + " G " +
         std::to_string(c.group_size) + (c.sym ? " sym" : " asym") + (c.act_order ? " act-order" : "") + " K " +
         std::to_string(c.K) + " N " + std::to_string(c.N);
}

// A host pool stand-in: runs the range in chunks of one, last first (any order must do).
void reverse_parallel_for(void*, int64_t n, incq_range_fn fn, void* ctx) {
  for (int64_t i = n - 1; i >= 0; --i) fn(ctx, i, i + 1);
}

void check(const MatrixCase& c, const IntWoMatrix& src, const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct,
           std::vector<float> x, int64_t M, const incq_exec* exec) {
  const int64_t K = c.K, N = c.N;
  for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(k)] = 0.0f;  // row 0 all zero
  // bf16 mode takes this path for BF16 activations only: x as the host would pass it.
  if (ct == ComputeType::kBf16) {
    for (float& v : x) v = incq::bf16_to_float(incq::float_to_bf16(v));
  }
  const size_t bytes = int_prefill_scratch_bytes(w, p, ct, 4);
  ASSERT_GT(bytes, 0u);
  void* scratch = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  const bool ran = int_prefill_rows(w, p, ct, x.data(), M, y.data(), exec, scratch, bytes);
  std::free(scratch);
  ASSERT_TRUE(ran) << describe(c);

  std::vector<double> xe(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m) {
    if (ct == ComputeType::kInt8) {
      std::vector<int8_t> q(static_cast<size_t>(K));
      const float s = quantize_row_int8(x.data() + m * K, K, q.data());
      for (int64_t k = 0; k < K; ++k) xe[m * K + k] = static_cast<double>(q[k]) * s;
    } else {
      for (int64_t k = 0; k < K; ++k) xe[m * K + k] = x[m * K + k];
    }
  }
  // docs/compute_modes.md: bf16 weights are rounded once (2^-8 relative: 8 significant bits), fp32 sums in K steps of at
  // most prefill_bf16_k_step rows; int8 sums are exact per segment, then one fp32 step each.
  const double u = std::ldexp(1.0, -24);
  const int64_t kstep = prefill_bf16_k_step(p);
  const int64_t steps = (w.K_int + kstep - 1) / kstep;
  // The fp32 GEMM (bf16 mode without AMX) rounds no weight: only its fp32 sums count.
  const double weight_rounding = p.bf16_f32 ? 0.0 : std::ldexp(1.0, -8);
  const double bound = ct == ComputeType::kInt8 ? (w.num_segments() + 4) * u
                                                : weight_rounding + (kstep + steps + 4) * u;
  ASSERT_LE(bound, ct == ComputeType::kInt8 ? kIntFastInt8Tolerance : kIntFastTolerance);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double ref = src.bias_at(n), mag = std::fabs(src.bias_at(n));
      for (int64_t k = 0; k < K; ++k) {
        const double t = xe[m * K + k] * src.weight_at(k, n);
        ref += t;
        mag += std::fabs(t);
      }
      const double got = y[static_cast<size_t>(m * N + n)];
      ASSERT_LE(std::fabs(got - ref), bound * mag + 1e-30)
          << describe(c) << " mode " << compute_type_name(ct) << " m " << m << " n " << n << " M " << M;
    }
  }
}

TEST(IntFastPrefill, Bf16AndInt8MatchTheOracle) {
  uint32_t seed = 7;
  incq_exec pool{};
  pool.struct_size = sizeof(incq_exec);
  pool.max_threads = 3;
  pool.parallel_for = reverse_parallel_for;
  bool any = false;
  for (const MatrixCase& c : all_cases(320)) {
    const IntWoMatrix src = int_fast_test::make_matrix(c, seed++);
    const IntPackedMatrix w = repack_int_matrix(src);
    const IntPrefill p = plan_int_prefill(w);
    for (int64_t M : {kPrefillMinRows, kPrefillMinRows + 17}) {
      const std::vector<float> x = int_fast_test::make_x(M, c.K, seed++);
      for (ComputeType ct : {ComputeType::kBf16, ComputeType::kInt8}) {
        if (!use_prefill(p, ct, INCQ_DTYPE_BF16, M)) continue;
        any = true;
        check(c, src, w, p, ct, x, M, M != kPrefillMinRows ? &pool : nullptr);
        if (HasFatalFailure()) return;
      }
    }
  }
  if (!any) GTEST_SKIP() << "no prefill GEMM tier on this machine";
}

TEST(IntFastPrefill, FiveHundredTwelveRows) {
  MatrixCase c;
  c.bits = 4;
  c.packing = INCQ_PACKING_GPTQ_V2;
  c.sym = false;
  c.K = 200;
  c.N = 72;
  c.group_size = 32;
  c.act_order = true;
  c.bias = true;
  const IntWoMatrix src = int_fast_test::make_matrix(c, 99);
  const IntPackedMatrix w = repack_int_matrix(src);
  const IntPrefill p = plan_int_prefill(w);
  incq_exec pool{};
  pool.struct_size = sizeof(incq_exec);
  pool.max_threads = 4;
  pool.parallel_for = reverse_parallel_for;
  const std::vector<float> x = int_fast_test::make_x(512, c.K, 5);
  bool any = false;
  for (ComputeType ct : {ComputeType::kBf16, ComputeType::kInt8}) {
    if (!use_prefill(p, ct, INCQ_DTYPE_BF16, 512)) continue;
    any = true;
    check(c, src, w, p, ct, x, 512, &pool);
  }
  if (!any) GTEST_SKIP() << "no prefill GEMM tier on this machine";
}

// The plugin option `isa` caps the prefill tiers as it caps the decode kernels; under each cap the
// path still matches the oracle (the bf16 mode's fp32 GEMM and the VNNI int8 GEMM on an AMX host).
TEST(IntFastPrefill, IsaCapChoosesTheTiers) {
  MatrixCase c;
  c.bits = 4;
  c.sym = false;
  c.K = 200;
  c.N = 40;
  c.group_size = 32;
  c.bias = true;
  const IntWoMatrix src = int_fast_test::make_matrix(c, 31);
  const IntPackedMatrix w = repack_int_matrix(src);
  const isa::IsaTier saved = isa::isa_cap();
  for (isa::IsaTier cap : {isa::IsaTier::kAvx2, isa::IsaTier::kAvx512, isa::IsaTier::kAvx512Vnni,
                           isa::IsaTier::kAvx512Bf16, isa::IsaTier::kAmx}) {
    isa::set_isa_cap(cap);
    const isa::CpuFeatures f = isa::active_features();
    const IntPrefill p = plan_int_prefill(w);
    const std::string what = std::string("cap ") + isa::isa_tier_name(cap);
    EXPECT_EQ(p.bf16_tier == gemm::GemmTier::kAmx, f.amx_bf16) << what;
    EXPECT_EQ(p.bf16_f32, !f.amx_bf16 && f.avx512) << what;
    EXPECT_EQ(p.int8_tier == gemm::GemmTier::kAmx, f.amx_int8) << what;
    EXPECT_EQ(p.int8_tier == gemm::GemmTier::kAvx512Vnni, !f.amx_int8 && f.avx512 && f.avx512vnni) << what;
    if (cap < isa::IsaTier::kAvx512) {
      EXPECT_FALSE(use_prefill(p, ComputeType::kBf16, INCQ_DTYPE_BF16, 512)) << what;
      EXPECT_FALSE(use_prefill(p, ComputeType::kInt8, INCQ_DTYPE_BF16, 512)) << what;
    }
    const std::vector<float> x = int_fast_test::make_x(kPrefillMinRows, c.K, 8);
    for (ComputeType ct : {ComputeType::kBf16, ComputeType::kInt8}) {
      if (use_prefill(p, ct, INCQ_DTYPE_BF16, kPrefillMinRows)) check(c, src, w, p, ct, x, kPrefillMinRows, nullptr);
    }
  }
  isa::set_isa_cap(saved);
}

TEST(IntFastPrefill, ThresholdAndModes) {
  MatrixCase c;
  c.bits = 4;
  c.packing = INCQ_PACKING_GPTQ_V2;
  c.sym = true;
  c.K = 64;
  c.N = 32;
  c.group_size = 32;
  const IntPackedMatrix w = repack_int_matrix(int_fast_test::make_matrix(c, 3));
  const IntPrefill p = plan_int_prefill(w);
  EXPECT_FALSE(use_prefill(p, ComputeType::kFp32, INCQ_DTYPE_F32, 512));  // fp32 keeps its exact path
  EXPECT_FALSE(use_prefill(p, ComputeType::kFp32, INCQ_DTYPE_BF16, 512));
  // bf16 mode with F16 / F32 inputs would round x and w: beyond the declared tolerance.
  EXPECT_FALSE(use_prefill(p, ComputeType::kBf16, INCQ_DTYPE_F16, 512));
  EXPECT_FALSE(use_prefill(p, ComputeType::kBf16, INCQ_DTYPE_F32, 512));
  EXPECT_FALSE(use_prefill(p, ComputeType::kBf16, INCQ_DTYPE_BF16, kPrefillMinRows - 1));
  EXPECT_FALSE(use_prefill(p, ComputeType::kInt8, INCQ_DTYPE_F32, kPrefillMinRows - 1));
}

}  // namespace
