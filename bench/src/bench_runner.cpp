#include "bench_runner.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "core/layer_options.hpp"
#include "core/loaded_layer.hpp"
#include "core/selection.hpp"
#include "incq/plugin_helpers.hpp"
#include "onednn_dense.hpp"
#include "read_bandwidth.hpp"
#include "synth_layer.hpp"

namespace incq::bench {

using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool is_reference_impl(const host::Implementation& impl) { return impl.name.find(".ref.") != std::string::npos; }

// One implementation under test with its rotating weight copies.
struct Candidate {
  const host::Implementation* impl = nullptr;
  std::string label;  // implementation name, or the --impl text when it did not resolve
  std::string how;
  bool is_reference = false;
  host::OptionMap options;
  std::string error;
  std::vector<std::unique_ptr<host::LoadedLayer>> copies;
  size_t next = 0;
};

// Times calls on successive copies (never the same copy twice in a row, so with >= 4 x LLC of
// copies every call reads its weights from memory) until min_s has passed; returns µs per call.
template <typename F>
double timed_calls(F&& call, double min_s, int64_t& calls) {
  const auto t0 = Clock::now();
  int64_t n = 0;
  double s = 0;
  do {
    call();
    ++n;
    s = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (s < min_s);
  calls += n;
  return s * 1e6 / static_cast<double>(n);
}

// Activations uniform in [-1, 1), stored in dtype.
std::vector<uint8_t> random_activations(int64_t rows, int64_t cols, int32_t dtype, uint64_t seed) {
  const size_t es = incq::dtype_size(dtype);
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols) * es);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < rows * cols; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const float v = static_cast<float>(s >> 40) * 0x1p-23f - 1.0f;
    if (dtype == INCQ_DTYPE_F32) {
      std::memcpy(&out[static_cast<size_t>(i) * 4], &v, 4);
    } else {
      const uint16_t h = dtype == INCQ_DTYPE_BF16 ? incq::float_to_bf16(v) : incq::float_to_half(v);
      std::memcpy(&out[static_cast<size_t>(i) * 2], &h, 2);
    }
  }
  return out;
}

}  // namespace

BenchRunner::BenchRunner(host::Host& host, BenchOptions options, MachineInfo machine)
    : host_(host), o_(std::move(options)), machine_(std::move(machine)), seed_(o_.seed) {
  const uint64_t llc = machine_.llc_bytes ? machine_.llc_bytes : (uint64_t{32} << 20);
  if (machine_.llc_bytes == 0) notes_.push_back("LLC size unknown (sysfs): assumed 32 MiB");
  cold_bytes_ = o_.cold_bytes ? o_.cold_bytes : 4 * llc;
  bw_bytes_ = o_.bw_bytes ? o_.bw_bytes : std::max<uint64_t>(uint64_t{1} << 30, 4 * llc);
}

BenchRunner::~BenchRunner() = default;

host::ThreadPool& BenchRunner::pool(int threads) {
  auto& p = pools_[threads];
  if (!p) p = std::make_unique<host::ThreadPool>(threads);
  return *p;
}

double BenchRunner::bandwidth_gbps(int threads) const {
  auto it = bw_samples_.find(threads);
  return it == bw_samples_.end() ? 0 : median(it->second);
}

void BenchRunner::measure_bandwidth() {
  bw_ = std::make_unique<ReadBandwidth>(bw_bytes_);
  ReadBandwidth& bw = *bw_;
  const std::vector<std::string> readers = ReadBandwidth::readers();
  std::string chosen;
  for (int t : o_.threads) {
    host::ThreadPool& p = pool(t);
    bw.pass(p, 0);  // warm-up: page tables, thread start
    // Readers interleaved within each repetition; the best reader's median is the bandwidth.
    std::vector<std::vector<double>> samples(readers.size());
    for (int r = 0; r < std::max(1, o_.bw_reps); ++r)
      for (size_t k = 0; k < readers.size(); ++k) samples[k].push_back(bw.pass(p, k));
    size_t best = 0;
    for (size_t k = 1; k < readers.size(); ++k)
      if (median(samples[k]) > median(samples[best])) best = k;
    bw_samples_[t] = samples[best];
    best_reader_[t] = best;
    std::string all;
    for (size_t k = 0; k < readers.size(); ++k) all += fmt::format("{}{} {:.1f}", k ? ", " : "", readers[k], median(samples[k]));
    chosen += fmt::format("{}{} threads: {} GB/s", chosen.empty() ? "" : "; ", t, all);
  }
  notes_.push_back(fmt::format("read bandwidth: best of the readers' medians ({} passes each) over a {:.2f} GiB buffer: {}",
                               std::max(1, o_.bw_reps), static_cast<double>(bw.bytes()) / (1 << 30), chosen));
}

void BenchRunner::run(const std::vector<Problem>& problems,
                      const std::function<void(const std::vector<ResultRow>& added)>& on_group) {
  for (const auto& p : problems) {
    const size_t first = rows_.size();
    try {
      run_group(p);
    } catch (const std::exception& e) {
      ResultRow r;
      r.problem = p;
      r.M = p.tokens.front();
      r.impl = "(problem)";
      r.how = "error";
      r.t.error = e.what();
      rows_.push_back(r);
      fmt::print(stderr, "incq_bench: {}: {}\n", p.source, e.what());
    }
    if (on_group) on_group(std::vector<ResultRow>(rows_.begin() + static_cast<std::ptrdiff_t>(first), rows_.end()));
  }
}

void BenchRunner::run_group(const Problem& p) {
  const std::string compute = p.compute.empty() ? o_.compute_type : (p.compute == "auto" ? "" : p.compute);
  fmt::print(stderr, "incq_bench: {} {} {}{}: synthesizing weights\n", p.kind, p.shape(), p.scheme,
             compute.empty() ? "" : " compute=" + compute);
  const auto L = synthesize_layer(p, o_.act_dtype, seed_++);
  const incq_device device = host_.device();
  const host::Registry& registry = host_.plugins().registry();
  const size_t as = incq::dtype_size(o_.act_dtype);

  // --- candidates, in the order asked for; the first is "primary" (what targets judge).
  std::vector<std::unique_ptr<Candidate>> cands;
  auto add = [&](const host::Implementation* impl, const std::string& label, const std::string& how,
                 const std::string& error) {
    for (auto& c : cands)
      if (impl != nullptr && c->impl == impl) {
        if (c->how.find(how) == std::string::npos) c->how += "," + how;
        return;
      }
    auto c = std::make_unique<Candidate>();
    c->impl = impl;
    c->label = impl ? impl->name : label;
    c->how = how;
    c->error = error;
    c->is_reference = impl && is_reference_impl(*impl);
    // The host's per-layer options (--layer-option, host config layer_options), then the compute
    // type of --compute-type or the problem line, which wins.
    c->options = host::options_for_layer(host_.settings().policy.layer_options, L->name);
    if (!compute.empty()) c->options["compute_type"] = compute;
    cands.push_back(std::move(c));
  };
  auto select = [&](const std::string& name, const std::string& how) {
    host::SelectionPolicy policy = host_.settings().policy;
    if (name != "auto") policy.cli_backend = host::BackendChoice{name, how};
    const host::Selection s = host::try_select_implementation(registry, L->desc, device, policy);
    add(s.chosen, name, how == "--impl" && name == "auto" ? "auto" : how, s.chosen ? "" : s.error);
  };
  std::vector<std::string> specs = o_.impls;
  if (specs.empty() && o_.backends.empty()) specs = {"auto", "all"};
  for (const auto& spec : specs) {
    if (spec == "all") {
      for (const auto& impl : registry.all()) {
        if (is_reference_impl(impl)) continue;
        host::SelectionPolicy policy = host_.settings().policy;
        policy.cli_backend = host::BackendChoice{impl.name, "all"};
        const host::Selection s = host::try_select_implementation(registry, L->desc, device, policy);
        if (s.chosen) add(s.chosen, impl.name, "all", "");
      }
    } else {
      select(spec, "--impl");
    }
  }
  for (const auto& b : o_.backends) select(b, "--backend");

  // The reference: the first registered reference implementation that accepts the layer.
  const host::Implementation* ref = nullptr;
  for (const auto& impl : registry.all()) {
    if (!is_reference_impl(impl)) continue;
    host::SelectionPolicy policy = host_.settings().policy;
    policy.cli_backend = host::BackendChoice{impl.name, "reference"};
    const host::Selection s = host::try_select_implementation(registry, L->desc, device, policy);
    if (s.chosen) {
      ref = s.chosen;
      break;
    }
  }
  if (o_.reference && ref != nullptr) {
    // A candidate that is the reference itself (with no options) is measured once, as the reference.
    bool merged = false;
    for (auto& c : cands)
      if (c->impl == ref && c->options.empty()) {
        c->how += ",reference";
        merged = true;
      }
    if (!merged) {
      auto c = std::make_unique<Candidate>();
      c->impl = ref;
      c->label = ref->name;
      c->how = "reference";
      c->is_reference = true;
      cands.push_back(std::move(c));
    }
  }

  // --- load the weight copies.
  const int copies = static_cast<int>(std::clamp<uint64_t>((cold_bytes_ + L->bytes_per_copy - 1) / L->bytes_per_copy, 2,
                                                           static_cast<uint64_t>(o_.max_copies)));
  for (auto& c : cands) {
    if (!c->error.empty() || c->impl == nullptr) continue;
    const int n = c->is_reference ? 1 : copies;
    fmt::print(stderr, "incq_bench:   loading {} x {} ({:.1f} MiB each)\n", n, c->label,
               static_cast<double>(L->bytes_per_copy) / (1 << 20));
    try {
      for (int i = 0; i < n; ++i)
        c->copies.push_back(host::LoadedLayer::load(*c->impl, L->desc, device, L->bundle, L->packing, c->options));
    } catch (const std::exception& e) {
      c->error = e.what();
      c->copies.clear();
    }
  }
  std::unique_ptr<OnednnDense> dense[2];
  if (o_.onednn && !p.is_moe()) {
    for (int b = 0; b < 2; ++b) {
      const uint64_t wb = static_cast<uint64_t>(p.K * p.N) * (b == 0 ? 2 : 4);
      const int n = static_cast<int>(std::clamp<uint64_t>((cold_bytes_ + wb - 1) / wb, 2, static_cast<uint64_t>(o_.max_copies)));
      dense[b] = std::make_unique<OnednnDense>(b == 0, p.K, p.N, n, seed_++);
    }
  }

  for (int threads : o_.threads) {
    host::ThreadPool& tp = pool(threads);
    const incq_exec exec = tp.exec();
    omp_set_num_threads(threads);
    const double run_bw = bandwidth_gbps(threads);
    for (int64_t M : p.tokens) {
      const int64_t K = p.is_moe() ? p.hidden : p.K, N = p.is_moe() ? p.hidden : p.N;
      std::vector<uint8_t> x = random_activations(M, K, o_.act_dtype, seed_++);
      std::vector<uint8_t> y(static_cast<size_t>(M * N) * as);
      incq_tensor xt = host::cpu_tensor(x.data(), o_.act_dtype, {M, K});
      incq_tensor yt = host::cpu_tensor(y.data(), o_.act_dtype, {M, N});
      // MoE routing: top_k distinct experts per token, uniformly at random, equal weights.
      std::vector<int32_t> ids;
      std::vector<float> wts;
      std::set<int32_t> touched;
      if (p.is_moe()) {
        uint64_t s = seed_++ * 0x9E3779B97F4A7C15ull + 7;
        std::vector<int32_t> perm(static_cast<size_t>(p.experts));
        for (int64_t t = 0; t < M; ++t) {
          for (size_t e = 0; e < perm.size(); ++e) perm[e] = static_cast<int32_t>(e);
          for (int64_t j = 0; j < p.top_k; ++j) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            const size_t pick = static_cast<size_t>(j) + s % (perm.size() - static_cast<size_t>(j));
            std::swap(perm[static_cast<size_t>(j)], perm[pick]);
            ids.push_back(perm[static_cast<size_t>(j)]);
            wts.push_back(1.0f / static_cast<float>(p.top_k));
            touched.insert(perm[static_cast<size_t>(j)]);
          }
        }
      }
      incq_tensor idt = host::cpu_tensor(ids.data(), INCQ_DTYPE_I32, {M, p.top_k});
      incq_tensor wt = host::cpu_tensor(wts.data(), INCQ_DTYPE_F32, {M, p.top_k});

      const uint64_t weight_bytes =
          p.is_moe() ? L->bytes_per_expert * touched.size() : L->bytes_per_copy;
      const uint64_t act_bytes = static_cast<uint64_t>(M * K + M * N) * as;
      const double flops = p.is_moe() ? 6.0 * static_cast<double>(M * p.top_k) * static_cast<double>(p.hidden * p.intermediate)
                                      : 2.0 * static_cast<double>(M) * static_cast<double>(p.N * p.K);
      const bool ref_subset = flops <= o_.ref_max_gflop * 1e9;

      auto call = [&](Candidate& c) {
        host::LoadedLayer& layer = *c.copies[c.next];
        c.next = (c.next + 1) % c.copies.size();
        if (p.is_moe()) layer.apply_moe(xt, idt, wt, yt, exec);
        else layer.apply_linear(xt, yt, exec);
      };

      std::vector<ResultRow> rows;
      auto base_row = [&](const std::string& impl, const std::string& how) {
        ResultRow r;
        r.problem = p;
        r.problem.tokens = {M};
        r.M = M;
        r.threads = threads;
        r.impl = impl;
        r.how = how;
        r.read_gbps = run_bw;  // replaced by this block's interleaved measurement after the repetitions
        return r;
      };
      for (size_t i = 0; i < cands.size(); ++i) {
        Candidate& c = *cands[i];
        ResultRow r = base_row(c.label, c.how);
        r.primary = i == 0;
        r.is_reference = c.is_reference;
        r.compute_type = c.options.count("compute_type") ? c.options.at("compute_type") : "";
        r.t.error = c.error;
        r.t.copies = static_cast<int>(c.copies.size());
        r.bytes = weight_bytes + act_bytes;
        r.weight_bytes = weight_bytes;
        r.flops = flops;
        if (c.is_reference) {
          r.detail = fmt::format("reference: {} reps, 1 warm copy, only problems <= {} GFLOP", o_.ref_reps, o_.ref_max_gflop);
          if (r.t.error.empty() && !ref_subset)
            r.t.error = fmt::format("skipped: the reference runs only problems <= {} GFLOP (this is {:.2f})",
                                    o_.ref_max_gflop, flops / 1e9);
        }
        rows.push_back(r);
      }
      for (int b = 0; b < 2; ++b) {
        if (!dense[b]) continue;
        ResultRow r = base_row(dense[b]->name(), "baseline");
        r.weight_bytes = dense[b]->weight_bytes();
        r.bytes = r.weight_bytes + static_cast<uint64_t>(M * K + M * N) * (b == 0 ? 2 : 4);
        r.flops = flops;
        try {
          dense[b]->prepare(M);
          r.detail = dense[b]->impl();
          r.t.copies = dense[b]->copies();
        } catch (const std::exception& e) {
          r.t.error = std::string("oneDNN: ") + e.what();
        }
        rows.push_back(r);
      }

      // Warm-up (first-call costs: JIT, AMX permission, page faults), then interleaved repetitions.
      for (size_t i = 0; i < cands.size(); ++i) {
        if (!rows[i].t.error.empty()) continue;
        try {
          // A second warm-up call only when the first was short (a slow call has amortized its set-up).
          const auto w0 = Clock::now();
          call(*cands[i]);
          if (!cands[i]->is_reference && Clock::now() - w0 < std::chrono::milliseconds(50)) call(*cands[i]);
        } catch (const std::exception& e) {
          rows[i].t.error = e.what();
        }
      }
      for (int b = 0, k = static_cast<int>(cands.size()); b < 2; ++b)
        if (dense[b] && rows[static_cast<size_t>(k)].t.error.empty()) {
          for (int w = 0; w < 2; ++w) dense[b]->run_next();
          ++k;
        } else if (dense[b]) {
          ++k;
        }
      const double min_s = o_.min_rep_ms / 1e3;
      std::vector<double> block_bw;
      for (int rep = 0; rep < o_.reps; ++rep) {
        for (size_t i = 0; i < cands.size(); ++i) {
          ResultRow& r = rows[i];
          if (!r.t.error.empty() || (cands[i]->is_reference && rep >= o_.ref_reps)) continue;
          try {
            r.t.samples_us.push_back(timed_calls([&] { call(*cands[i]); }, cands[i]->is_reference ? 0 : min_s, r.t.calls));
          } catch (const std::exception& e) {
            r.t.error = e.what();
          }
        }
        size_t k = cands.size();
        for (int b = 0; b < 2; ++b) {
          if (!dense[b]) continue;
          ResultRow& r = rows[k++];
          if (!r.t.error.empty()) continue;
          r.t.samples_us.push_back(timed_calls([&] { dense[b]->run_next(); }, min_s, r.t.calls));
        }
        // OpenMP workers spin for a while after oneDNN returns; let them go idle so they do not
        // compete for cores with the next candidate's threads.
        if (threads > 1 && (dense[0] || dense[1])) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        // The read bandwidth is measured in every repetition too, so ratios against it follow the
        // machine's state during this block (a shared host changes under a run).
        if (bw_) block_bw.push_back(bw_->pass(tp, best_reader_[threads]));
      }
      // Medians, baselines, ratios.
      const double bw = block_bw.empty() ? run_bw : median(block_bw);
      double bf16_us = 0, f32_us = 0, ref_us = 0;
      for (auto& r : rows) {
        if (r.t.error.empty()) r.t.us = median(r.t.samples_us);
        if (r.impl == "onednn.bf16" && r.t.measured()) bf16_us = r.t.us;
        if (r.impl == "onednn.f32" && r.t.measured()) f32_us = r.t.us;
        if (r.is_reference && r.t.measured()) ref_us = r.t.us;
      }
      ResultRow bound = base_row("read-bandwidth bound", "baseline");
      bound.weight_bytes = weight_bytes;
      bound.bytes = weight_bytes;
      bound.flops = flops;
      bound.detail = fmt::format("{} weight bytes / {:.1f} GB/s (read bandwidth, median of this block's {} passes)",
                                 p.is_moe() ? "touched experts'" : "layer", bw, block_bw.size());
      if (bw > 0) bound.t.us = static_cast<double>(weight_bytes) / (bw * 1e3);
      else bound.t.error = "no bandwidth measured";
      bound.read_gbps = bw;
      for (auto& r : rows) {
        r.read_gbps = bw;
        r.onednn_bf16_us = bf16_us;
        r.onednn_f32_us = f32_us;
        r.reference_us = ref_us;
        r.bw_bound_us = bound.t.us;
        r.bf16_weight_bytes = 2.0 * static_cast<double>(p.is_moe() ? 3 * p.hidden * p.intermediate * static_cast<int64_t>(touched.size())
                                                                   : p.N * p.K);
      }
      bound.onednn_bf16_us = bf16_us;
      bound.onednn_f32_us = f32_us;
      bound.reference_us = ref_us;
      bound.bw_bound_us = bound.t.us;
      rows_.push_back(bound);
      // Baselines first, then the candidates, in the table and the JSON.
      for (auto& r : rows)
        if (r.how == "baseline") rows_.push_back(r);
      for (auto& r : rows)
        if (r.how != "baseline") rows_.push_back(r);
      fmt::print(stderr, "incq_bench:   {} M={} threads={}: done\n", p.shape(), M, threads);
    }
  }
}

}  // namespace incq::bench
