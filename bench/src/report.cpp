#include "report.hpp"

#include <fmt/format.h>

namespace incq::bench {

namespace {

std::string num(double v, const char* f = "{:.1f}") { return v > 0 ? fmt::format(fmt::runtime(f), v) : "-"; }
std::string ratio(double a, double b) { return a > 0 && b > 0 ? fmt::format("{:.2f}", a / b) : "-"; }

}  // namespace

std::string results_header() {
  return fmt::format("{:<22} {:>4} {:<14} {:<50} {:>3} {:>10} {:>7} {:>8} {:>5} {:>6} {:>6} {:>7} {:>6}  {}\n",
                              "shape", "M", "scheme", "implementation", "thr", "us", "GB/s", "GFLOP/s", "%BW",
                              "t/bf16", "t/f32", "t/ref", "t/bw", "note");
}

std::string results_table(const std::vector<ResultRow>& rows) {
  std::string s;
  for (const auto& r : rows) {
    if (r.impl == "read-bandwidth bound") s += "\n";
    std::string impl = r.impl;
    if (r.how != "baseline" && r.how != "all") impl += " [" + r.how + "]";
    if (!r.compute_type.empty()) impl += " {" + r.compute_type + "}";
    if (impl.size() > 50) impl = impl.substr(0, 47) + "...";
    const bool m = r.t.measured();
    const bool is_bound = r.impl == "read-bandwidth bound";
    std::string note = !r.t.error.empty() ? r.t.error : r.detail;
    if (note.size() > 100) note = note.substr(0, 97) + "...";
    s += fmt::format("{:<22} {:>4} {:<14} {:<50} {:>3} {:>10} {:>7} {:>8} {:>5} {:>6} {:>6} {:>7} {:>6}  {}\n",
                     r.problem.shape(), r.M, r.problem.scheme, impl, r.threads, m ? fmt::format("{:.1f}", r.t.us) : "-",
                     m && !is_bound ? num(r.gbps()) : "-", m ? num(r.gflops()) : "-",
                     m && !is_bound && r.read_gbps > 0 ? fmt::format("{:.0f}", 100 * r.gbps() / r.read_gbps) : "-",
                     m ? ratio(r.t.us, r.onednn_bf16_us) : "-", m ? ratio(r.t.us, r.onednn_f32_us) : "-",
                     m ? ratio(r.t.us, r.reference_us) : "-", m && !is_bound ? ratio(r.t.us, r.bw_bound_us) : "-", note);
  }
  return s;
}

nlohmann::ordered_json run_json(const BenchRunner& run, const MachineInfo& machine, const std::string& command_line,
                                const std::vector<TargetVerdict>* targets) {
  nlohmann::ordered_json j;
  j["tool"] = "incq_bench";
  j["command"] = command_line;
  j["machine"] = machine.to_json();
  const BenchOptions& o = run.options();
  j["method"] = {{"reps", o.reps},
                 {"statistic", "median of interleaved repetitions; each repetition calls the layer on successive "
                               "weight copies for at least min_rep_ms and reports time per call"},
                 {"min_rep_ms", o.min_rep_ms},
                 {"cold_bytes", run.cold_bytes()},
                 {"read_bandwidth_buffer_bytes", run.bw_bytes()},
                 {"reference", fmt::format("{} reps, one warm copy, problems up to {} GFLOP only", o.ref_reps, o.ref_max_gflop)},
                 {"act_dtype", o.act_dtype == INCQ_DTYPE_BF16 ? "bf16" : o.act_dtype == INCQ_DTYPE_F16 ? "f16" : "f32"},
                 {"quick", o.quick}};
  nlohmann::ordered_json bw = nlohmann::ordered_json::array();
  for (const auto& [t, samples] : run.bandwidth_samples())
    bw.push_back({{"threads", t}, {"GBps", run.bandwidth_gbps(t)}, {"samples", samples}});
  j["read_bandwidth"] = bw;
  j["notes"] = run.notes();
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& r : run.rows()) rows.push_back(r.to_json());
  j["results"] = rows;
  if (targets) {
    nlohmann::ordered_json tj = nlohmann::ordered_json::array();
    for (const auto& t : *targets) tj.push_back(t.to_json());
    j["targets"] = tj;
  }
  return j;
}

}  // namespace incq::bench
