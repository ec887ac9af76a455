// Differential tests of the prefill GEMM microkernels and drivers (plugins/inc_cpu/src/gemm) against a
// plain double-precision loop over the very same bf16 / integer operands, so the only tolerated
// difference is fp32 accumulation (and, for int8, fp32 rounding of the scale products).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gemm/amx_permission.hpp"
#include "gemm/gemm_driver.hpp"
#include "gemm/gemm_prepare_a.hpp"
#include "gemm/gemm_ukernels.hpp"
#include "gemm/panel_layout.hpp"
#include "act_quant_int8.hpp"
#include "incq/plugin_helpers.hpp"

namespace g = incq::inc_cpu::gemm;

namespace {

bool avx512_ok() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
bool has_bf16() { return __builtin_cpu_supports("avx512bf16"); }
bool has_vnni() { return __builtin_cpu_supports("avx512vnni"); }

// A pool for the drivers: up to 3 threads take items from a shared counter.
void test_parallel_for(void*, int64_t n, incq_range_fn fn, void* ctx) {
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) fn(ctx, i, i + 1);
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t) ts.emplace_back(worker);
  worker();
  for (auto& t : ts) t.join();
}

incq_exec make_exec(int threads) {
  incq_exec e{};
  e.struct_size = sizeof e;
  e.max_threads = threads;
  e.parallel_for = threads > 1 ? test_parallel_for : nullptr;
  return e;
}

// Bytes past the scratch size the drivers asked for must stay untouched.
constexpr size_t kCanaryBytes = 4096;
constexpr char kCanary = char(0xA5);
void expect_canary_intact(const std::vector<char>& scratch, size_t bytes) {
  for (size_t i = bytes; i < scratch.size(); ++i) ASSERT_EQ(scratch[i], kCanary) << "scratch overrun at +" << i - bytes;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -2.f, float hi = 2.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Asserts |got - want| <= tol * (scale of the dot product) elementwise.
void expect_close(const std::vector<double>& want, const std::vector<double>& mag, const float* got,
                  int64_t M, int64_t N, int64_t ldc, double rel, const std::string& what) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double w = want[m * N + n], tol = rel * (mag[m * N + n] + std::fabs(w)) + 1e-30;
      ASSERT_NEAR(got[m * ldc + n], w, tol) << what << " at m=" << m << " n=" << n;
    }
}

// ------------------------------------------------------------------ bf16

struct Bf16Case {
  int64_t M, N, K;
  std::vector<uint16_t> a, panels;  // a: [M][Kp]
  std::vector<float> w;             // [N][K], bf16-exact
  std::vector<double> want, mag;    // A.W^T and sum |a||w|
  int64_t Kp, lda;
};

Bf16Case make_bf16_case(int64_t M, int64_t N, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  Bf16Case c{M, N, K, {}, {}, {}, {}, {}, g::bf16_padded_k(K), 0};
  c.lda = g::activation_row_stride(c.Kp, 2);
  auto x = random_floats(size_t(M * K), rng);
  if (M > 2) std::fill(x.begin() + K, x.begin() + 2 * K, 0.f);  // a zero row
  c.w = random_floats(size_t(N * K), rng);
  for (auto& v : c.w) v = incq::bf16_to_float(incq::float_to_bf16(v));
  c.a.assign(size_t(M * c.lda), 0xFFFF);  // padding must be written by prepare
  g::prepare_a_bf16_from_f32_avx512(x.data(), K, 0, M, K, c.Kp, c.a.data(), c.lda);
  c.panels.resize(size_t(g::padded_cols(N) * c.Kp));
  g::pack_bf16_panels_from_f32(c.w.data(), N, K, K, c.Kp, c.panels.data());
  c.want.assign(size_t(M * N), 0.0);
  c.mag.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const double av = incq::bf16_to_float(c.a[m * c.lda + k]), wv = c.w[n * K + k];
        c.want[m * N + n] += av * wv;
        c.mag[m * N + n] += std::fabs(av * wv);
      }
  return c;
}

using Bf16Kernel = void (*)(const g::Bf16TileArgs&);

// Runs the kernel tile by tile over the whole problem (as a one-thread driver would, one K step).
void check_bf16_kernel(Bf16Kernel kernel, int64_t max_rows, int64_t row_step, const char* name) {
  const int64_t Ms[] = {1, 2, 3, 7, 14, 16, 33};
  const int64_t Ns[] = {1, 17, 32, 45};
  const int64_t Ks[] = {1, 2, 31, 64, 130, 1024};  // 1024: padded row stride
  for (int64_t M : Ms)
    for (int64_t N : Ns)
      for (int64_t K : Ks)
        for (bool acc : {false, true}) {
          if (row_step > 1 && M % row_step != 0) continue;  // AMX tiles: 16 or 32 rows
          const Bf16Case c = make_bf16_case(M, N, K, uint32_t(M * 1000 + N * 10 + K));
          const int64_t ldc = N + 3;
          std::vector<float> C(size_t(M * ldc), 0.5f);
          for (int64_t n0 = 0; n0 < N; n0 += 32)
            for (int64_t m0 = 0; m0 < M;) {
              g::Bf16TileArgs t{};
              t.mr = std::min(max_rows, M - m0);
              t.nr = std::min<int64_t>(32, N - n0);
              t.kc = c.Kp;
              t.a = c.a.data() + m0 * c.lda;
              t.lda = c.lda;
              t.b = c.panels.data() + (n0 / 32) * 32 * c.Kp;
              t.c = C.data() + m0 * ldc + n0;
              t.ldc = ldc;
              t.accumulate = acc;
              kernel(t);
              m0 += t.mr;
            }
          std::vector<double> want = c.want;
          if (acc)
            for (auto& v : want) v += 0.5;
          const std::string what = std::string(name) + " M=" + std::to_string(M) + " N=" +
                                   std::to_string(N) + " K=" + std::to_string(K) + " acc=" + std::to_string(acc);
          expect_close(want, c.mag, C.data(), M, N, ldc, 2e-6, what);
          for (int64_t m = 0; m < M; ++m)  // columns past N untouched
            for (int64_t n = N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], 0.5f) << what;
        }
}

TEST(GemmMicrokernels, Bf16Avx512Bf16) {
  if (!avx512_ok() || !has_bf16()) GTEST_SKIP() << "CPU lacks AVX512-BF16";
  check_bf16_kernel(g::gemm_bf16_f32_14x32c2_avx512bf16, g::kBf16MaxRows, 1, "bf16_14x32c2_avx512bf16");
}

TEST(GemmMicrokernels, Bf16Avx512Fp32Fallback) {
  if (!avx512_ok()) GTEST_SKIP() << "CPU lacks AVX-512F/BW/VL/DQ";
  check_bf16_kernel(g::gemm_bf16_f32_12x32c2_avx512, g::kF32FallbackMaxRows, 1, "bf16_12x32c2_avx512");
}

TEST(GemmMicrokernels, Bf16Amx) {
  if (!g::amx_request_permission()) GTEST_SKIP() << "no AMX-BF16/INT8 on this CPU or XTILEDATA permission denied";
  check_bf16_kernel(g::gemm_bf16_f32_32x32_amx, g::kAmxRows, 16, "bf16_32x32_amx");
}

// A PanelSource that decodes by packing from the dense weights on every call, like a real producer.
struct DecodingBf16Source {
  const float* w;
  int64_t N, K, Kp;
  static g::PanelBlock get(const void* ctx, int64_t n0, int64_t nc, int64_t k0, int64_t kc, void* buf) {
    const auto* s = static_cast<const DecodingBf16Source*>(ctx);
    auto* out = static_cast<uint16_t*>(buf);
    for (int64_t j = 0; j < nc; j += 32)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t n = 0; n < 32; ++n) {
          const int64_t gn = n0 + j + n, gk = k0 + k;
          const float v = gn < s->N && gk < s->K ? s->w[gn * s->K + gk] : 0.f;
          out[j * kc + g::bf16_panel_offset(n, k)] = incq::float_to_bf16(v);
        }
    return {buf, kc * 32 * 2};
  }
};

void check_bf16_driver(g::GemmTier tier) {
  struct Shape { int64_t M, N, K; };
  const Shape shapes[] = {{1, 45, 130},   {3, 100, 64},  {33, 300, 600}, {512, 96, 96},
                          {70, 33, 1000}, {40, 64, 2048}, {48, 70, 320},  {17, 40, 96}};
  // Blockings: several K steps of one chunk each; and (AMX block kernel) several L1 chunks per K
  // step, so C tiles are parked and reloaded, with row blocks splitting M into 32 / 16 / < 16 rows.
  struct Blk { int64_t kc, kc_inner, mc, nc; };
  const Blk blks[] = {{64, 0, 0, 0}, {256, 64, 64, 64}};
  for (const Shape& sh : shapes)
    for (const Blk& blk : blks)
      for (int threads : {1, 3})
        for (bool decoding : {false, true}) {
        const Bf16Case c = make_bf16_case(sh.M, sh.N, sh.K, uint32_t(sh.M + sh.N + sh.K));
        g::PackedPanels packed{c.panels.data(), c.Kp, 2};
        DecodingBf16Source dec{c.w.data(), sh.N, sh.K, c.Kp};
        g::Bf16Gemm gm;
        gm.M = sh.M;
        gm.N = sh.N;
        gm.K = sh.K;
        gm.a = c.a.data();
        gm.lda = c.lda;
        gm.b = decoding ? g::PanelSource{DecodingBf16Source::get, &dec} : g::resident_panels(&packed);
        std::vector<float> C(size_t(sh.M * sh.N), -1.f);
        gm.c = C.data();
        gm.ldc = sh.N;
        gm.tier = tier;
        gm.blocking.kc = blk.kc;  // several K steps even at small K
        gm.blocking.kc_inner = blk.kc_inner;
        gm.blocking.mc = blk.mc;
        gm.blocking.nc = blk.nc;
        const incq_exec ex = make_exec(threads);
        const size_t bytes = g::gemm_bf16_scratch_bytes(gm, g::gemm_threads(&ex));
        std::vector<char> scratch(bytes + kCanaryBytes, kCanary);
        g::gemm_bf16_f32(gm, &ex, scratch.data(), bytes);
        expect_canary_intact(scratch, bytes);
        expect_close(c.want, c.mag, C.data(), sh.M, sh.N, sh.N, 4e-6,
                     std::string("driver ") + g::gemm_tier_name(tier) + " M=" + std::to_string(sh.M) +
                         " threads=" + std::to_string(threads) + " decoding=" + std::to_string(decoding) +
                         " kc=" + std::to_string(blk.kc) + " kc_inner=" + std::to_string(blk.kc_inner));
      }
}

TEST(GemmDriver, Bf16AllTiers) {
  if (!avx512_ok()) GTEST_SKIP() << "CPU lacks AVX-512";
  check_bf16_driver(g::GemmTier::kAvx512Fp32);
  if (has_bf16()) check_bf16_driver(g::GemmTier::kAvx512Bf16);
  if (g::amx_request_permission()) check_bf16_driver(g::GemmTier::kAmx);
}

// ------------------------------------------------------------------ fp32

struct F32Case {
  int64_t M, N, K, lda;
  std::vector<float> a, w, panels;  // a: [M][lda]; w: [N][K]; panels: [padded N / 32][K][32]
  std::vector<double> want, mag;
};

F32Case make_f32_case(int64_t M, int64_t N, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  F32Case c{M, N, K, g::activation_row_stride(K, 4), {}, {}, {}, {}, {}};
  c.a.assign(size_t(M * c.lda), NAN);  // past K: never read
  auto x = random_floats(size_t(M * K), rng);
  if (M > 2) std::fill(x.begin() + K, x.begin() + 2 * K, 0.f);  // a zero row
  for (int64_t m = 0; m < M; ++m) std::copy(x.begin() + m * K, x.begin() + (m + 1) * K, c.a.begin() + m * c.lda);
  c.w = random_floats(size_t(N * K), rng);
  c.panels.assign(size_t(g::padded_cols(N) * K), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) c.panels[(n / 32) * 32 * K + g::f32_panel_offset(n, k)] = c.w[n * K + k];
  c.want.assign(size_t(M * N), 0.0);
  c.mag.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const double t = double(c.a[m * c.lda + k]) * c.w[n * K + k];
        c.want[m * N + n] += t;
        c.mag[m * N + n] += std::fabs(t);
      }
  return c;
}

TEST(GemmMicrokernels, F32Avx512) {
  if (!avx512_ok()) GTEST_SKIP() << "CPU lacks AVX-512F/BW/VL/DQ";
  for (int64_t M : {1, 2, 7, 14, 15, 33})
    for (int64_t N : {1, 17, 32, 45})
      for (int64_t K : {1, 3, 64, 130})
        for (bool acc : {false, true}) {
          const F32Case c = make_f32_case(M, N, K, uint32_t(M * 1000 + N * 10 + K));
          const int64_t ldc = N + 3;
          std::vector<float> C(size_t(M * ldc), 0.5f);
          for (int64_t n0 = 0; n0 < N; n0 += 32)
            for (int64_t m0 = 0; m0 < M;) {
              g::F32TileArgs t{};
              t.mr = std::min(g::kF32MaxRows, M - m0);
              t.nr = std::min<int64_t>(32, N - n0);
              t.kc = K;
              t.a = c.a.data() + m0 * c.lda;
              t.lda = c.lda;
              t.b = c.panels.data() + (n0 / 32) * 32 * K;
              t.c = C.data() + m0 * ldc + n0;
              t.ldc = ldc;
              t.accumulate = acc;
              g::gemm_f32_f32_14x32_avx512(t);
              m0 += t.mr;
            }
          std::vector<double> want = c.want;
          if (acc)
            for (auto& v : want) v += 0.5;
          const std::string what = "f32_14x32_avx512 M=" + std::to_string(M) + " N=" + std::to_string(N) +
                                   " K=" + std::to_string(K) + " acc=" + std::to_string(acc);
          expect_close(want, c.mag, C.data(), M, N, ldc, 2e-6, what);
          for (int64_t m = 0; m < M; ++m)  // columns past N untouched
            for (int64_t n = N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], 0.5f) << what;
        }
}

// Decodes fp32 panels from the dense weights on every call, like a real producer (rows >= K zero).
struct DecodingF32Source {
  const F32Case* c;
  static g::PanelBlock get(const void* ctx, int64_t n0, int64_t nc, int64_t k0, int64_t kc, void* buf) {
    const F32Case& c = *static_cast<const DecodingF32Source*>(ctx)->c;
    auto* out = static_cast<float*>(buf);
    for (int64_t j = 0; j < nc; j += 32)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t n = 0; n < 32; ++n) {
          const int64_t gn = n0 + j + n, gk = k0 + k;
          out[j * kc + g::f32_panel_offset(n, k)] = gn < c.N && gk < c.K ? c.w[gn * c.K + gk] : 0.f;
        }
    return {buf, kc * 32 * 4};
  }
};

TEST(GemmDriver, F32) {
  if (!avx512_ok()) GTEST_SKIP() << "CPU lacks AVX-512";
  ASSERT_TRUE(g::f32_gemm_supported());
  struct Shape { int64_t M, N, K; };
  for (const Shape& sh : {Shape{1, 45, 130}, Shape{33, 300, 600}, Shape{512, 96, 96}, Shape{70, 33, 1000}})
    for (int64_t kc : {int64_t{0}, int64_t{64}, int64_t{100}})
      for (int threads : {1, 3}) {
        const F32Case c = make_f32_case(sh.M, sh.N, sh.K, uint32_t(sh.M + sh.N + sh.K + kc));
        DecodingF32Source src{&c};
        g::F32Gemm gm;
        gm.M = sh.M;
        gm.N = sh.N;
        gm.K = sh.K;
        gm.a = c.a.data();
        gm.lda = c.lda;
        gm.b = {DecodingF32Source::get, &src};
        std::vector<float> C(size_t(sh.M * sh.N), 0.25f);
        gm.c = C.data();
        gm.ldc = sh.N;
        gm.accumulate = true;
        gm.blocking.kc = kc;
        const incq_exec ex = make_exec(threads);
        const size_t bytes = g::gemm_f32_scratch_bytes(gm, g::gemm_threads(&ex));
        std::vector<char> scratch(bytes + kCanaryBytes, kCanary);
        g::gemm_f32_f32(gm, &ex, scratch.data(), bytes);
        expect_canary_intact(scratch, bytes);
        std::vector<double> want = c.want;
        for (auto& v : want) v += 0.25;
        expect_close(want, c.mag, C.data(), sh.M, sh.N, sh.N, 4e-6,
                     "driver f32 M=" + std::to_string(sh.M) + " K=" + std::to_string(sh.K) + " kc=" +
                         std::to_string(kc) + " threads=" + std::to_string(threads));
      }
}

// ------------------------------------------------------------------ int8

struct Qu8Case {
  int64_t M, N, Kp, lda, groups;
  std::vector<int64_t> starts;  // [groups + 1]
  std::vector<int8_t> a;
  std::vector<float> a_scale;
  std::vector<int32_t> gsum;
  std::vector<uint8_t> w, panels;  // w: [N][Kp] codes
  std::vector<float> ws;           // [groups][N]
  std::vector<int32_t> wz;         // [groups][N]
  std::vector<double> want, mag;
};

// Activations: K real rows then zero padding up to Kp (as cpu-int's internal order pads groups).
Qu8Case make_qu8_case(int64_t M, int64_t N, const std::vector<int64_t>& starts, int64_t K, bool zeros,
                      int bits, uint32_t seed) {
  std::mt19937 rng(seed);
  Qu8Case c;
  c.M = M, c.N = N, c.starts = starts;
  c.groups = int64_t(starts.size()) - 1;
  c.Kp = starts.back();
  c.lda = g::activation_row_stride(c.Kp, 1);
  auto x = random_floats(size_t(M * K), rng, -3.f, 3.f);
  if (M > 2) std::fill(x.begin() + K, x.begin() + 2 * K, 0.f);  // a zero row
  c.a.assign(size_t(M * c.lda), 7);
  c.a_scale.resize(size_t(M));
  c.gsum.resize(size_t(M * c.groups));
  g::prepare_a_s8_from_f32_avx512(x.data(), K, 0, M, K, c.Kp, c.a.data(), c.lda, c.a_scale.data(),
                                  c.starts.data(), c.groups, c.gsum.data());
  // The codes must be the reference quantizer's, bit for bit.
  std::vector<int8_t> q(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    const float s = incq::inc_cpu::quantize_row_int8(x.data() + m * K, K, q.data());
    EXPECT_EQ(s, c.a_scale[m]);
    for (int64_t k = 0; k < K; ++k) EXPECT_EQ(q[k], c.a[m * c.lda + k]) << m << "," << k;
    for (int64_t k = K; k < c.Kp; ++k) EXPECT_EQ(c.a[m * c.lda + k], 0);
  }
  const int qmax = (1 << bits) - 1;
  std::uniform_int_distribution<int> wd(0, qmax), zd(0, qmax + (bits == 8 ? 1 : 0));
  c.w.resize(size_t(N * c.Kp));
  for (auto& v : c.w) v = uint8_t(wd(rng));
  c.ws = random_floats(size_t(c.groups * N), rng, -0.05f, 0.05f);  // negative scales included
  c.wz.assign(size_t(c.groups * N), 0);
  if (zeros)
    for (auto& z : c.wz) z = zd(rng);
  c.panels.resize(size_t(g::padded_cols(N) * c.Kp));
  g::pack_u8_panels(c.w.data(), N, c.Kp, c.Kp, c.Kp, c.panels.data());
  c.want.assign(size_t(M * N), 0.0);
  c.mag.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t gi = 0; gi < c.groups; ++gi) {
        int64_t dot = 0, absdot = 0;
        for (int64_t k = starts[gi]; k < starts[gi + 1]; ++k) {
          const int64_t qa = c.a[m * c.lda + k], qw = int64_t(c.w[n * c.Kp + k]) - c.wz[gi * N + n];
          dot += qa * qw;
          absdot += std::abs(qa) * (std::abs(qw) + c.wz[gi * N + n]);  // the kernel sums q, then subtracts
        }
        const double f = double(c.a_scale[m]) * double(c.ws[gi * N + n]);
        c.want[m * N + n] += f * double(dot);
        c.mag[m * N + n] += std::fabs(f) * double(absdot);
      }
  return c;
}

std::vector<int64_t> uniform_groups(int64_t K, int64_t G) {
  std::vector<int64_t> s;
  for (int64_t k = 0; k <= K; k += G) s.push_back(k);
  return s;
}

using Qu8Kernel = void (*)(const g::Qu8TileArgs&);

struct Qu8Shape {
  std::vector<int64_t> starts;
  int64_t K;  // real activation rows (<= starts.back(); the rest is padding)
  bool zeros;
  int bits;
};
const std::vector<Qu8Shape>& qu8_shapes() {
  static const std::vector<Qu8Shape> shapes = {
      {uniform_groups(64, 32), 64, false, 4},   {uniform_groups(128, 64), 128, true, 4},
      {uniform_groups(256, 128), 256, true, 8}, {uniform_groups(192, 96), 192, true, 2},
      {{0, 192}, 160, false, 4},                {{0, 100}, 100, true, 8},
      {{0, 4}, 4, true, 3},                     {uniform_groups(36, 12), 36, false, 4},
      {{0, 32, 96, 100, 164}, 150, true, 4}};  // uneven groups (act-order layouts)
  return shapes;
}

void check_qu8_kernel(Qu8Kernel kernel, bool amx) {
  const int64_t Ms[] = {1, 2, 3, 7, 12, 16, 33};
  const int64_t Ns[] = {1, 17, 32, 45};
  for (const Qu8Shape& sh : qu8_shapes())
    for (int64_t M : Ms)
      for (int64_t N : Ns)
        for (bool acc : {false, true}) {
          if (amx && M % 16 != 0) continue;
          const Qu8Case c = make_qu8_case(M, N, sh.starts, sh.K, sh.zeros, sh.bits, uint32_t(M * 7 + N + sh.K));
          const int64_t ldc = N + 5;
          std::vector<float> C(size_t(M * ldc), 0.25f);
          const int64_t max_rows = amx ? g::kAmxRows : c.groups == 1 ? g::kQu8OneGroupMaxRows : g::kQu8MaxRows;
          for (int64_t n0 = 0; n0 < N; n0 += 32)
            for (int64_t m0 = 0; m0 < M;) {
              g::Qu8TileArgs t{};
              t.mr = std::min(max_rows, M - m0);
              t.nr = std::min<int64_t>(32, N - n0);
              t.groups = c.groups;
              t.group_start = c.starts.data();
              t.a = c.a.data() + m0 * c.lda;
              t.lda = c.lda;
              t.a_scale = c.a_scale.data() + m0;
              t.a_group_sum = c.gsum.data() + m0 * c.groups;
              t.ld_group_sum = c.groups;
              t.b = c.panels.data() + (n0 / 32) * 32 * c.Kp;
              t.w_scale = c.ws.data() + n0;
              t.w_zero = sh.zeros ? c.wz.data() + n0 : nullptr;
              t.ws_ld = N;
              t.c = C.data() + m0 * ldc + n0;
              t.ldc = ldc;
              t.accumulate = acc;
              kernel(t);
              m0 += t.mr;
            }
          std::vector<double> want = c.want;
          if (acc)
            for (auto& v : want) v += 0.25;
          const std::string what = std::string(amx ? "amx" : "vnni") + " M=" + std::to_string(M) + " N=" +
                                   std::to_string(N) + " K=" + std::to_string(sh.K) + " groups=" +
                                   std::to_string(c.groups) + " zeros=" + std::to_string(sh.zeros);
          expect_close(want, c.mag, C.data(), M, N, ldc, 1e-6, what);
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], 0.25f) << what;
        }
}

TEST(GemmMicrokernels, Qu8Avx512Vnni) {
  if (!avx512_ok() || !has_vnni()) GTEST_SKIP() << "CPU lacks AVX512-VNNI";
  check_qu8_kernel(g::gemm_qu8_f32_qc8w_6x32c4_avx512vnni, false);
}

TEST(GemmMicrokernels, Qu8Amx) {
  if (!g::amx_request_permission()) GTEST_SKIP() << "no AMX-BF16/INT8 on this CPU or XTILEDATA permission denied";
  check_qu8_kernel(g::gemm_qu8_f32_qc8w_32x32_amx, true);
}

// Decodes like cpu-int's producers: one group after another, params into the caller's buffers.
struct DecodingQu8Source {
  const Qu8Case* c;
  static g::Qu8Block get(const void* ctx, int64_t n0, int64_t nc, int64_t g0, int64_t g1, uint8_t* buf,
                         float* sbuf, int32_t* zbuf) {
    const Qu8Case& c = *static_cast<const DecodingQu8Source*>(ctx)->c;
    const int64_t k0 = c.starts[g0], rows = c.starts[g1] - k0;
    for (int64_t j = 0; j < nc; j += 32)
      for (int64_t k = 0; k < rows; ++k)
        for (int64_t n = 0; n < 32; ++n) {
          const int64_t gn = n0 + j + n;
          buf[j * rows + g::u8_panel_offset(n, k)] = gn < c.N ? c.w[gn * c.Kp + k0 + k] : 0;
        }
    for (int64_t gi = g0; gi < g1; ++gi)
      for (int64_t n = 0; n < nc; ++n) {
        const int64_t gn = n0 + n;
        sbuf[(gi - g0) * nc + n] = gn < c.N ? c.ws[gi * c.N + gn] : 0.f;
        zbuf[(gi - g0) * nc + n] = gn < c.N ? c.wz[gi * c.N + gn] : 0;
      }
    return {buf, rows * 32, sbuf, zbuf, nc};
  }
};

void check_qu8_driver(g::GemmTier tier) {
  struct Shape { int64_t M, N; std::vector<int64_t> starts; int64_t K; bool zeros; };
  const Shape shapes[] = {{1, 45, uniform_groups(256, 32), 256, true},
                          {3, 100, uniform_groups(256, 128), 256, false},
                          {33, 300, uniform_groups(384, 64), 384, true},
                          {512, 64, uniform_groups(128, 128), 128, true},
                          {70, 33, {0, 1024}, 1000, true},
                          {20, 40, uniform_groups(2048, 128), 2048, true},  // padded row stride
                          {40, 70, {0, 32, 96, 100, 164, 400}, 390, true}};
  for (const Shape& sh : shapes)
    for (int threads : {1, 3})
      for (bool decoding : {false, true}) {
        const Qu8Case c = make_qu8_case(sh.M, sh.N, sh.starts, sh.K, sh.zeros, 4, uint32_t(sh.M * 3 + sh.K));
        g::PackedQu8 packed{c.panels.data(), c.Kp, c.starts.data(), c.ws.data(),
                            sh.zeros ? c.wz.data() : nullptr, sh.N};
        DecodingQu8Source dec{&c};
        g::Qu8Gemm gm;
        gm.M = sh.M;
        gm.N = sh.N;
        gm.num_groups = c.groups;
        gm.group_start = c.starts.data();
        gm.a = c.a.data();
        gm.lda = c.lda;
        gm.a_scale = c.a_scale.data();
        gm.a_group_sum = c.gsum.data();
        gm.b = decoding ? g::Qu8PanelSource{DecodingQu8Source::get, &dec} : g::resident_qu8_panels(&packed);
        std::vector<float> C(size_t(sh.M * sh.N), -1.f);
        gm.c = C.data();
        gm.ldc = sh.N;
        gm.tier = tier;
        gm.blocking.kc = 128;  // several K steps
        const incq_exec ex = make_exec(threads);
        const size_t bytes = g::gemm_qu8_scratch_bytes(gm, g::gemm_threads(&ex));
        std::vector<char> scratch(bytes + kCanaryBytes, kCanary);
        g::gemm_qu8_f32(gm, &ex, scratch.data(), bytes);
        expect_canary_intact(scratch, bytes);
        expect_close(c.want, c.mag, C.data(), sh.M, sh.N, sh.N, 2e-6,
                     std::string("driver ") + g::gemm_tier_name(tier) + " M=" + std::to_string(sh.M) +
                         " K=" + std::to_string(sh.K) + " groups=" + std::to_string(c.groups) +
                         " threads=" + std::to_string(threads) + " decoding=" + std::to_string(decoding));
      }
}

TEST(GemmDriver, Qu8AllTiers) {
  if (!avx512_ok() || !has_vnni()) GTEST_SKIP() << "CPU lacks AVX512-VNNI";
  check_qu8_driver(g::GemmTier::kAvx512Vnni);
  if (g::amx_request_permission()) check_qu8_driver(g::GemmTier::kAmx);
}

TEST(GemmDriver, RowStrideAvoidsAliasing) {
  EXPECT_EQ(g::activation_row_stride(4096, 2), 4096 + 32);  // 8 KiB rows -> one extra line
  EXPECT_EQ(g::activation_row_stride(4096, 1), 4096 + 64);
  EXPECT_EQ(g::activation_row_stride(4128, 2), 4128);
}

TEST(GemmDriver, Qu8GroupValidation) {
  const int64_t ok[] = {0, 32, 36, 100};
  const int64_t odd[] = {0, 32, 34};
  const int64_t empty[] = {0, 32, 32};
  EXPECT_EQ(g::qu8_groups_error(ok, 3), nullptr);
  EXPECT_NE(g::qu8_groups_error(odd, 2), nullptr);
  EXPECT_NE(g::qu8_groups_error(empty, 2), nullptr);
  EXPECT_NE(g::qu8_groups_error(ok + 1, 2), nullptr);  // must start at row 0
}

}  // namespace
