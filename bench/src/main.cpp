// incq_bench: the benchmark suite of DESIGN §6 (issue 5; issue 7 compares ARK with inc_cpu here).
//   incq_bench [run|targets|list] [options]     (bench/README.md)
#include <fmt/format.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_runner.hpp"
#include "common/error.hpp"
#include "core/host.hpp"
#include "core/host_settings.hpp"
#include "core/selection.hpp"
#include "issue5_targets.hpp"
#include "machine_info.hpp"
#include "report.hpp"
#include "synth_layer.hpp"

using namespace incq;
using namespace incq::bench;

namespace {

std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    int v = 0;
    try {
      v = std::stoi(part);
    } catch (const std::exception&) {
    }
    if (v <= 0) throw host::Error(fmt::format("--threads: '{}' is not a positive thread count", part));
    out.push_back(v);
  }
  if (out.empty()) throw host::Error("--threads: empty list");
  return out;
}

// `list`: every registered implementation, and for each problem which of them accept it and why not.
void list_implementations(host::Host& host, const std::vector<Problem>& problems, int32_t act_dtype) {
  const auto& reg = host.plugins().registry();
  fmt::print("Registered implementations ({}):\n", reg.all().size());
  for (const auto& impl : reg.all())
    fmt::print("  {:<44} plugin {:<10} priority {:>4}  {}\n", impl.name, impl.plugin ? impl.plugin->name() : "?",
               impl.desc->priority, host::describe_capabilities(*impl.desc));
  for (const auto& f : host.plugins().failures()) fmt::print("  failed to load {}: {}\n", f.path, f.reason);
  for (const auto& p : problems) {
    const auto L = synthesize_layer(p, act_dtype, 0, false);
    fmt::print("\n{} {} {} ({}):\n", p.kind, p.shape(), p.scheme, L->scheme.layer.describe());
    const host::Selection sel =
        host::try_select_implementation(reg, L->desc, host.device(), host.settings().policy);
    for (const auto& c : sel.candidates)
      fmt::print("  {:<44} {}\n", c.impl->name, c.accepted ? (c.impl == sel.chosen ? "accepts (auto: chosen, " + sel.how + ")" : "accepts")
                                                         : "no: " + c.reason);
    if (!sel.chosen) fmt::print("  auto: {}\n", sel.error);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"incq_bench: quantized Linear / MoE layers against read bandwidth, oneDNN dense matmul and the reference"};
  std::string mode = "run";
  std::vector<std::string> problem_files, plugin_dirs, disable;
  std::string threads_text, json_path, compute, act_dtype = "bf16";
  bool no_default_dirs = false;
  double cold_mib = 0, bw_mib = 0;
  BenchOptions o;
  app.add_option("mode", mode, "run (default): the problem lists; targets: issue 5's targets; list: implementations per problem")
      ->check(CLI::IsMember({"run", "targets", "list"}));
  app.add_option("--impl", o.impls,
                 "candidate (repeatable): all | auto | PLUGIN | IMPLEMENTATION (default: auto and all)");
  app.add_option("--backend", o.backends, "candidate (repeatable): the host's selection forced to PLUGIN (e.g. ark)");
  app.add_option("--threads", threads_text, "thread counts, e.g. 1,16 (default: all logical CPUs)");
  app.add_option("--compute-type", compute, "layer option compute_type passed to candidates")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto"}));
  app.add_option("--act-dtype", act_dtype, "activation dtype (default bf16)")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  app.add_option("--json", json_path, "write the results as JSON to FILE");
  app.add_option("--problems", problem_files, "problem list (repeatable): a file or a name in bench/problems "
                                              "(decode, prefill, moe, schemes, targets); default: decode");
  app.add_flag("--quick", o.quick, "CI smoke: tiny shapes, 1 repetition, small buffers");
  app.add_option("--reps", o.reps, "interleaved repetitions (median reported; default 5)");
  app.add_option("--ref-reps", o.ref_reps, "repetitions of the reference (default 3)");
  app.add_option("--ref-max-gflop", o.ref_max_gflop, "run the reference only on problems up to this many GFLOP (default 0.6)");
  app.add_flag("!--no-reference", o.reference, "do not run the reference");
  app.add_flag("!--no-onednn", o.onednn, "do not run the oneDNN baselines");
  app.add_option("--cold-mib", cold_mib, "MiB of weight copies to rotate through (default 4 x LLC)");
  app.add_option("--bw-mib", bw_mib, "MiB read by the bandwidth baseline (default max(1 GiB, 4 x LLC))");
  app.add_option("--min-rep-ms", o.min_rep_ms, "minimum time of one repetition (default 20 ms)");
  app.add_option("--seed", o.seed, "weight and activation seed");
  app.add_option("--plugin-dir", plugin_dirs, "plugin directory (repeatable), searched first");
  app.add_flag("--no-default-plugin-dirs", no_default_dirs, "only --plugin-dir and INCQ_PLUGIN_PATH");
  app.add_option("--disable", disable, "plugin or implementation never selected (repeatable)");
  std::vector<std::string> layer_options;
  std::string config_file;
  app.add_option("--layer-option", layer_options, "KEY=VALUE option for every candidate's create() (repeatable)");
  app.add_option("--config", config_file, "host config file (plugin_options, layer_options, disable ...)");
  CLI11_PARSE(app, argc, argv);

  try {
    o.act_dtype = act_dtype == "bf16" ? INCQ_DTYPE_BF16 : act_dtype == "f16" ? INCQ_DTYPE_F16 : INCQ_DTYPE_F32;
    o.compute_type = compute;
    o.threads = threads_text.empty() ? std::vector<int>{std::max(1, omp_get_num_procs())} : parse_threads(threads_text);
    if (o.quick) {
      o.reps = 1;
      o.ref_reps = 1;
      o.bw_reps = 1;
      o.min_rep_ms = 0;
      if (cold_mib == 0) cold_mib = 1;
      if (bw_mib == 0) bw_mib = 64;
    }
    o.cold_bytes = static_cast<uint64_t>(cold_mib * (1 << 20));
    o.bw_bytes = static_cast<uint64_t>(bw_mib * (1 << 20));
    if (o.reps < 1 || o.ref_reps < 1) throw host::Error("--reps and --ref-reps must be at least 1");

    std::vector<Problem> problems;
    if (problem_files.empty()) {
      if (o.quick) problems = quick_problems();
      else problem_files = {mode == "targets" ? "targets" : "decode"};
    }
    for (const auto& f : problem_files) {
      auto more = read_problem_file(find_problem_file(f));
      problems.insert(problems.end(), more.begin(), more.end());
    }

    host::CommandLineSettings cli;
    cli.plugin_dirs = plugin_dirs;
    cli.disable = disable;
    cli.no_default_plugin_dirs = no_default_dirs;
    cli.layer_options = layer_options;
    if (!config_file.empty()) cli.config_file = config_file;
    cli.threads = 1;  // the host's own pool is unused: every thread count gets its own pool
    host::Host host(host::resolve_host_settings(cli, host::process_env()));
    if (mode == "list") {
      list_implementations(host, problems, o.act_dtype);
      return 0;
    }

    const MachineInfo machine = probe_machine();
    std::string cmd;
    for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
    fmt::print("incq_bench: {}\n{}", cmd, machine.to_text());
    std::string plugins;
    for (const auto& pl : host.plugins().plugins()) plugins += (plugins.empty() ? "" : ", ") + pl->name();
    fmt::print("plugins: {} | threads: {} | activations {} | compute_type {}\n", plugins.empty() ? "(none)" : plugins,
               threads_text.empty() ? std::to_string(o.threads.front()) : threads_text, act_dtype,
               compute.empty() ? "(implementation default)" : compute);
    for (const auto& f : host.plugins().failures()) fmt::print("plugin failed to load: {}: {}\n", f.path, f.reason);

    BenchRunner runner(host, o, machine);
    runner.measure_bandwidth();
    for (int t : o.threads) fmt::print("read bandwidth at {} threads: {:.1f} GB/s\n", t, runner.bandwidth_gbps(t));
    fmt::print("cold caches: weight copies totalling >= {:.0f} MiB per implementation; median of {} interleaved reps "
               "(>= {} ms each); the reference is slow: {} reps, one copy, problems <= {} GFLOP only\n\n",
               static_cast<double>(runner.cold_bytes()) / (1 << 20), o.reps, o.min_rep_ms, o.ref_reps, o.ref_max_gflop);
    std::fflush(stdout);
    fmt::print("{}", results_header());
    auto write_json = [&](const std::vector<TargetVerdict>* verdicts) {
      if (json_path.empty()) return;
      std::ofstream f(json_path);
      if (!f) throw host::Error(fmt::format("{}: cannot write", json_path));
      f << run_json(runner, machine, cmd, verdicts).dump(2) << "\n";
    };
    runner.run(problems, [&](const std::vector<ResultRow>& added) {
      fmt::print("{}", results_table(added));
      std::fflush(stdout);
      write_json(nullptr);
    });
    for (const auto& n : runner.notes()) fmt::print("note: {}\n", n);

    std::vector<TargetVerdict> verdicts;
    if (mode == "targets") {
      verdicts = judge_targets(runner.rows(), o.threads);
      fmt::print("\nIssue 5 targets (ratios from this run; the primary candidate of each problem):\n{}",
                 targets_table(verdicts));
    }
    write_json(mode == "targets" ? &verdicts : nullptr);
    if (!json_path.empty()) fmt::print("wrote {}\n", json_path);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "incq_bench: {}\n", e.what());
    return 2;
  }
}
