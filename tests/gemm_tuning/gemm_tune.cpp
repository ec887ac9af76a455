// Prefill GEMM tuning driver (not part of CI): our bf16 and int8 GEMMs (src/gemm) against oneDNN dense
// bf16 and u8s8 matmul at the same shapes, same process, interleaved repetitions, median times.
// Usage: gemm_tune [--no-amx] [--threads T] [--m M] [--reps R] [--shapes 4096x4096,4096x14336] [--kc K] [--nc N]
//                  [--mc M] [--kci K]   (AMX bf16: rows per block, K chunk kept in L1) [--only NAME_PART]
// Shapes are N x K (out x in features). oneDNN's threads follow OMP_NUM_THREADS: set it to T.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gemm/gemm_driver.hpp"
#include "gemm/gemm_prepare_a.hpp"
#include "gemm/panel_layout.hpp"
#include "incq/plugin_helpers.hpp"

namespace g = incq::inc_cpu::gemm;

namespace {

// A persistent pool: parallel_for hands out items through a counter; the caller works too.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  static void parallel_for(void* self, int64_t n, incq_range_fn fn, void* ctx) {
    static_cast<Pool*>(self)->run(n, fn, ctx);
  }

 private:
  void run(int64_t n, incq_range_fn fn, void* ctx) {
    {
      std::lock_guard<std::mutex> l(mu_);
      n_ = n, fn_ = fn, ctx_ = ctx;
      next_ = 0;
      done_ = 0;
      ++gen_;
    }
    cv_.notify_all();
    work();
    while (done_.load() < int64_t(workers_.size())) std::this_thread::yield();
  }
  void work() {
    for (int64_t i; (i = next_.fetch_add(1)) < n_;) fn_(ctx_, i, i + 1);
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
      }
      work();
      done_.fetch_add(1);
    }
  }
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t gen_ = 0;
  bool stop_ = false;
  int64_t n_ = 0;
  incq_range_fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<int64_t> next_{0}, done_{0};
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Case {
  std::string name;
  std::function<void()> run;
  std::vector<double> times;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 7;
  bool no_amx = false;  // cap our tiers at AVX-512 (pair with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16)
  int64_t M = 512, kc = 0, nc = 0, mc = 0, kci = 0, group = 128;
  std::string shapes = "4096x4096,4096x14336";
  std::string only;  // keep only the cases whose name contains this (onednn_bf16, the baseline, always)
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--no-amx") {
      no_amx = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) break;
    const std::string v = argv[i + 1];
    if (k == "--threads") threads = std::stoi(v);
    else if (k == "--m") M = std::stoll(v);
    else if (k == "--reps") reps = std::stoi(v);
    else if (k == "--shapes") shapes = v;
    else if (k == "--kc") kc = std::stoll(v);
    else if (k == "--nc") nc = std::stoll(v);
    else if (k == "--mc") mc = std::stoll(v);
    else if (k == "--kci") kci = std::stoll(v);
    else if (k == "--only") only = v;
    else if (k == "--group") group = std::stoll(v);
  }
  Pool pool(threads);
  incq_exec exec{};
  exec.struct_size = sizeof exec;
  exec.max_threads = threads;
  exec.parallel_for = threads > 1 ? Pool::parallel_for : nullptr;
  exec.pool_ctx = &pool;
  g::GemmTier bt = g::best_bf16_tier(), it = g::best_int8_tier();
  if (no_amx && bt == g::GemmTier::kAmx) bt = g::GemmTier::kAvx512Bf16;
  if (no_amx && it == g::GemmTier::kAmx) it = g::GemmTier::kAvx512Vnni;
  std::printf("threads=%d M=%lld group=%lld bf16 tier=%s int8 tier=%s onednn=%d.%d\n", threads, (long long)M,
              (long long)group, g::gemm_tier_name(bt), g::gemm_tier_name(it), dnnl_version()->major,
              dnnl_version()->minor);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> ud(-1.f, 1.f);

  size_t pos = 0;
  while (pos < shapes.size()) {
    size_t end = shapes.find(',', pos);
    if (end == std::string::npos) end = shapes.size();
    const std::string sh = shapes.substr(pos, end - pos);
    pos = end + 1;
    const int64_t N = std::stoll(sh.substr(0, sh.find('x'))), K = std::stoll(sh.substr(sh.find('x') + 1));
    std::vector<float> x(size_t(M * K)), w(size_t(N * K));
    for (auto& v : x) v = ud(rng);
    for (auto& v : w) v = ud(rng);
    std::vector<float> c(size_t(M * N));
    std::vector<Case> cases;

    // ---- oneDNN dense bf16: src bf16 [M,K], weights bf16 [K,N] reordered to its blocked layout once.
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory::desc a_md({M, K}, dt::bf16, tag::ab), w_any({K, N}, dt::bf16, tag::any),
        c_md({M, N}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc bf_pd(dnnl::matmul::desc(a_md, w_any, c_md), eng);
    dnnl::memory a_bf(a_md, eng), c_bf(c_md, eng), w_bf(bf_pd.weights_desc(), eng);
    {
      dnnl::memory w_f32({{K, N}, dt::f32, tag::ba}, eng, w.data());
      dnnl::reorder(w_f32, w_bf).execute(strm, w_f32, w_bf);
      auto* ab = static_cast<uint16_t*>(a_bf.get_data_handle());
      for (size_t i = 0; i < x.size(); ++i) ab[i] = incq::float_to_bf16(x[i]);
    }
    dnnl::matmul bf_mm(bf_pd);
    cases.push_back({"onednn_bf16", [&] {
                       bf_mm.execute(strm, {{DNNL_ARG_SRC, a_bf}, {DNNL_ARG_WEIGHTS, w_bf}, {DNNL_ARG_DST, c_bf}});
                       strm.wait();
                     }, {}});

    // ---- oneDNN u8s8 -> f32 with per-column output scales.
    dnnl::memory::desc au_md({M, K}, dt::u8, tag::ab), ws_any({K, N}, dt::s8, tag::any);
    dnnl::primitive_attr attr;
    attr.set_output_scales(2, std::vector<float>(size_t(N), 0.01f));
    dnnl::matmul::primitive_desc i8_pd(dnnl::matmul::desc(au_md, ws_any, c_md), attr, eng);
    dnnl::memory a_u8(au_md, eng), c_i8(c_md, eng), w_s8(i8_pd.weights_desc(), eng);
    {
      std::vector<int8_t> wq(size_t(K * N));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) wq[k * N + n] = int8_t(w[n * K + k] * 127);
      dnnl::memory w_plain({{K, N}, dt::s8, tag::ab}, eng, wq.data());
      dnnl::reorder(w_plain, w_s8).execute(strm, w_plain, w_s8);
      auto* au = static_cast<uint8_t*>(a_u8.get_data_handle());
      for (size_t i = 0; i < x.size(); ++i) au[i] = uint8_t(128 + int(x[i] * 127));
    }
    dnnl::matmul i8_mm(i8_pd);
    cases.push_back({"onednn_u8s8", [&] {
                       i8_mm.execute(strm, {{DNNL_ARG_SRC, a_u8}, {DNNL_ARG_WEIGHTS, w_s8}, {DNNL_ARG_DST, c_i8}});
                       strm.wait();
                     }, {}});
    strm.wait();

    // ---- ours, bf16: activations converted from f32 inside the timed region (apply does that too).
    const int64_t Kp = g::bf16_padded_k(K);
    const int64_t lda = g::activation_row_stride(Kp, 2);
    std::vector<uint16_t> panels(size_t(g::padded_cols(N) * Kp)), abf(size_t(M * lda));
    g::pack_bf16_panels_from_f32(w.data(), N, K, K, Kp, panels.data());
    g::PackedPanels packed{panels.data(), Kp, 2};
    g::Bf16Gemm bg;
    bg.M = M, bg.N = N, bg.K = K, bg.a = abf.data(), bg.lda = lda, bg.b = g::resident_panels(&packed), bg.c = c.data();
    bg.ldc = N, bg.tier = bt, bg.blocking.kc = kc, bg.blocking.nc = nc, bg.blocking.mc = mc, bg.blocking.kc_inner = kci;
    std::vector<char> bscratch(g::gemm_bf16_scratch_bytes(bg, threads));
    auto prep_bf16 = [&] {
      struct Ctx { const float* x; int64_t M, K, Kp, ld; uint16_t* o; } ctx{x.data(), M, K, Kp, lda, abf.data()};
      auto fn = [](void* p, int64_t b, int64_t e) {
        auto* q = static_cast<Ctx*>(p);
        for (int64_t i = b; i < e; ++i)
          g::prepare_a_bf16_from_f32_avx512(q->x, q->K, i * 32, std::min(q->M, i * 32 + 32), q->K, q->Kp, q->o, q->ld);
      };
      const int64_t n = (M + 31) / 32;
      if (threads > 1) Pool::parallel_for(&pool, n, fn, &ctx); else fn(&ctx, 0, n);
    };
    if (bt != g::GemmTier::kNone)
      cases.push_back({std::string("ours_bf16_") + g::gemm_tier_name(bt), [&] {
                         prep_bf16();
                         g::gemm_bf16_f32(bg, &exec, bscratch.data(), bscratch.size());
                       }, {}});
    if (bt != g::GemmTier::kNone) {  // the lower tiers on the same machine, for comparison
      static g::Bf16Gemm bg2;
      bg2 = bg;
      bg2.tier = g::GemmTier::kAvx512Fp32;
      cases.push_back({"ours_bf16_avx512fp32", [&] {
                         prep_bf16();
                         g::gemm_bf16_f32(bg2, &exec, bscratch.data(), bscratch.size());
                       }, {}});
    }
    if (bt == g::GemmTier::kAmx) {
      static g::Bf16Gemm bg3;
      bg3 = bg;
      bg3.tier = g::GemmTier::kAvx512Bf16;
      cases.push_back({"ours_bf16_avx512bf16", [&] {
                         prep_bf16();
                         g::gemm_bf16_f32(bg3, &exec, bscratch.data(), bscratch.size());
                       }, {}});
    }

    // ---- ours, int8: g`group` asymmetric 4-bit codes with per-group scale/zero, s8 activations.
    const int64_t G = std::min(group, K), ng = K / G;
    std::vector<int64_t> starts;
    for (int64_t k = 0; k <= K; k += G) starts.push_back(k);
    std::vector<uint8_t> codes(size_t(N * K)), upanels(size_t(g::padded_cols(N) * K));
    for (auto& q : codes) q = uint8_t(rng() & 15);
    g::pack_u8_panels(codes.data(), N, K, K, K, upanels.data());
    std::vector<float> sc(size_t(ng * N), 0.01f);
    std::vector<int32_t> zs(size_t(ng * N), 8);
    g::PackedQu8 pq{upanels.data(), K, starts.data(), sc.data(), zs.data(), N};
    const int64_t lda8 = g::activation_row_stride(K, 1);
    std::vector<int8_t> as8(size_t(M * lda8));
    std::vector<float> ascale(static_cast<size_t>(M));
    std::vector<int32_t> gsum(size_t(M * ng));
    g::Qu8Gemm qg;
    qg.M = M, qg.N = N, qg.num_groups = ng, qg.group_start = starts.data(), qg.a = as8.data(), qg.lda = lda8;
    qg.a_scale = ascale.data(), qg.a_group_sum = gsum.data(), qg.b = g::resident_qu8_panels(&pq);
    qg.c = c.data(), qg.ldc = N, qg.tier = it, qg.blocking.kc = kc, qg.blocking.nc = nc;
    std::vector<char> qscratch(g::gemm_qu8_scratch_bytes(qg, threads));
    auto prep_s8 = [&] {
      struct Ctx { const float* x; int64_t M, K, ld; int8_t* o; float* s; const int64_t* st; int64_t ng; int32_t* gs; }
      ctx{x.data(), M, K, lda8, as8.data(), ascale.data(), starts.data(), ng, gsum.data()};
      auto fn = [](void* p, int64_t b, int64_t e) {
        auto* q = static_cast<Ctx*>(p);
        for (int64_t i = b; i < e; ++i)
          g::prepare_a_s8_from_f32_avx512(q->x, q->K, i * 32, std::min(q->M, i * 32 + 32), q->K, q->K, q->o,
                                          q->ld, q->s, q->st, q->ng, q->gs);
      };
      const int64_t n = (M + 31) / 32;
      if (threads > 1) Pool::parallel_for(&pool, n, fn, &ctx); else fn(&ctx, 0, n);
    };
    if (it != g::GemmTier::kNone)
      cases.push_back({std::string("ours_int8_") + g::gemm_tier_name(it), [&] {
                         prep_s8();
                         g::gemm_qu8_f32(qg, &exec, qscratch.data(), qscratch.size());
                       }, {}});
    if (it == g::GemmTier::kAmx) {
      static g::Qu8Gemm qg2;
      qg2 = qg;
      qg2.tier = g::GemmTier::kAvx512Vnni;
      cases.push_back({"ours_int8_avx512vnni", [&] {
                         prep_s8();
                         g::gemm_qu8_f32(qg2, &exec, qscratch.data(), qscratch.size());
                       }, {}});
    }

    if (!only.empty())
      cases.erase(std::remove_if(cases.begin() + 1, cases.end(),
                                 [&](const Case& cs) { return cs.name.find(only) == std::string::npos; }),
                  cases.end());
    for (auto& cs : cases) cs.run();  // warm-up (oneDNN JIT, page faults)
    for (int r = 0; r < reps; ++r)
      for (auto& cs : cases) {
        const double t0 = now();
        cs.run();
        cs.times.push_back(now() - t0);
      }
    const double flop = 2.0 * double(M) * double(N) * double(K);
    const double base = median(cases[0].times);
    std::printf("N=%lld K=%lld M=%lld\n", (long long)N, (long long)K, (long long)M);
    for (auto& cs : cases) {
      const double t = median(cs.times);
      std::printf("  %-24s %10.3f ms %9.1f GFLOP/s  x%.2f vs onednn_bf16\n", cs.name.c_str(), t * 1e3,
                  flop / t * 1e-9, base / t);
    }
    std::fflush(stdout);
  }
  return 0;
}
