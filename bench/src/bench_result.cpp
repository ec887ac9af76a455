#include "bench_result.hpp"

namespace incq::bench {

namespace {
// null for "not measured", so a reader never mistakes a missing baseline for a zero.
nlohmann::ordered_json number_or_null(double v) { return v > 0 ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }
nlohmann::ordered_json ratio(double a, double b) { return a > 0 && b > 0 ? nlohmann::ordered_json(a / b) : nlohmann::ordered_json(); }
}  // namespace

nlohmann::ordered_json ResultRow::to_json() const {
  nlohmann::ordered_json j;
  j["kind"] = problem.kind;
  j["shape"] = problem.shape();
  if (problem.is_moe()) {
    j["experts"] = problem.experts;
    j["top_k"] = problem.top_k;
    j["hidden"] = problem.hidden;
    j["intermediate"] = problem.intermediate;
    j["T"] = M;
  } else {
    j["N"] = problem.N;
    j["K"] = problem.K;
  }
  j["M"] = M;
  j["scheme"] = problem.scheme;
  j["implementation"] = impl;
  j["selected_by"] = how;
  j["primary"] = primary;
  j["reference"] = is_reference;
  j["compute_type"] = compute_type.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(compute_type);
  j["threads"] = threads;
  j["us"] = number_or_null(t.measured() ? t.us : 0);
  j["us_samples"] = t.samples_us;
  j["calls"] = t.calls;
  j["copies"] = t.copies;
  j["bytes"] = bytes;
  j["weight_bytes"] = weight_bytes;
  j["GBps"] = number_or_null(gbps());
  j["GFLOPps"] = number_or_null(gflops());
  j["flops"] = flops;
  if (!detail.empty()) j["detail"] = detail;
  if (!t.error.empty()) j["error"] = t.error;
  if (!problem.tag.empty()) j["tag"] = problem.tag;
  const double us_ = t.measured() ? t.us : 0;
  j["baselines"] = {{"read_GBps", number_or_null(read_gbps)},
                    {"onednn_bf16_us", number_or_null(onednn_bf16_us)},
                    {"onednn_f32_us", number_or_null(onednn_f32_us)},
                    {"reference_us", number_or_null(reference_us)},
                    {"bw_bound_us", number_or_null(bw_bound_us)}};
  j["ratios"] = {{"read_bw_fraction", ratio(gbps(), read_gbps)},
                 {"time_vs_onednn_bf16", ratio(us_, onednn_bf16_us)},
                 {"time_vs_onednn_f32", ratio(us_, onednn_f32_us)},
                 {"time_vs_reference", ratio(us_, reference_us)},
                 {"time_vs_bw_bound", ratio(us_, bw_bound_us)},
                 {"weight_bytes_vs_bf16", ratio(static_cast<double>(weight_bytes), bf16_weight_bytes)}};
  return j;
}

}  // namespace incq::bench
