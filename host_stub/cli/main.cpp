// incq: the reference host's command line. Global options select plugins and backends; each
// subcommand says what it does in --help.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "common/error.hpp"

namespace {

std::vector<int64_t> parse_tokens(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v <= 0 || v > (1 << 20))
      throw incq::host::Error("--tokens: '" + item + "' is not a positive token count");
    out.push_back(v);
  }
  if (out.empty()) throw incq::host::Error("--tokens: give at least one count, e.g. 1,3,16");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"incq — run Intel AutoRound / INC quantized layers through plugins"};
  app.require_subcommand(1);
  app.fallthrough();

  incq::host::CommandLineSettings cli;
  std::string backend, device;
  int threads = 0;
  int verbosity = 0;
  incq::cli::Output out;
  app.add_option("--plugin-dir", cli.plugin_dirs, "Directory to load plugins from (repeatable; searched first)");
  app.add_flag("--no-default-plugin-dirs", cli.no_default_plugin_dirs,
               "Do not search the install location and build tree");
  app.add_option("--backend", backend, "Force a plugin or implementation for every layer ('auto' = choose)");
  app.add_option("--disable", cli.disable, "Never use this plugin or implementation (repeatable, comma lists)");
  app.add_option("--config", cli.config_file, "Host config file (JSON); default $INCQ_CONFIG");
  app.add_option("--device", device, "Device: cpu (default) or opencl (alias xpu)");
  app.add_option("--threads", threads, "Intra-op threads (default: all cores)")->check(CLI::Range(0, 4096));
  app.add_option("--act-quant", cli.act_quant,
                 "int8: run integer weight-only layers with dynamic per-token int8 activations (W4A8); none: keep them");
  app.add_option("--layer-option", cli.layer_options,
                 "KEY=VALUE handed to the implementation of every layer, e.g. compute_type=int8 (repeatable)");
  app.add_flag("-v,--verbose", verbosity, "More logging (repeat for debug)");
  app.add_flag("--json", out.json, "Machine-readable output");

  auto* plugins = app.add_subcommand("plugins", "List plugins: path, version, ABI, usable or not and why, implementations");
  std::string model_dir;
  std::string act = "f32";
  auto* inspect = app.add_subcommand("inspect", "Per layer: resolved scheme, chosen implementation, rejections");
  inspect->add_option("model_dir", model_dir, "Checkpoint directory")->required();
  inspect->add_option("--act-dtype", act, "Activation dtype: f32, bf16, f16");

  std::string tokens = "1,3,16";
  uint64_t seed = 1;
  int top_k = 0;
  auto* verify = app.add_subcommand("verify", "Run every quantized layer against the double-precision oracle");
  verify->add_option("model_dir", model_dir, "Checkpoint directory")->required();
  for (auto* sc : {verify}) {
    sc->add_option("--act-dtype", act, "Activation dtype: f32, bf16, f16");
    sc->add_option("--tokens", tokens, "Token counts to run, comma-separated (default 1,3,16)");
    sc->add_option("--seed", seed, "Seed of the inputs");
    sc->add_option("--top-k", top_k, "MoE experts per token (default: config's num_experts_per_tok, else 2)");
  }

  std::string spec_file, synth_out;
  incq::cli::QuickSynth quick;
  auto* synth = app.add_subcommand("synth", "Write an AutoRound-format checkpoint (spec file or quick options)");
  synth->add_option("--spec", spec_file, "Synth spec (JSON); see host_stub/core/synth.hpp");
  synth->add_option("--out", synth_out, "Output directory")->required();
  synth->add_option("--bits", quick.bits, "Quick mode: weight bits (2, 3, 4, 8)");
  synth->add_option("--group-size", quick.group_size, "Quick mode: group size (-1 = per channel)");
  synth->add_flag("--asym", quick.asym, "Quick mode: asymmetric weights");
  synth->add_option("--packing-format", quick.packing_format,
                    "Quick mode: auto_round:auto_gptq, auto_round, auto_round:gptqmodel, auto_round:auto_awq");
  synth->add_option("--hidden", quick.hidden, "Quick mode: hidden size");
  synth->add_option("--intermediate", quick.intermediate, "Quick mode: MLP / expert intermediate size");
  synth->add_option("--experts", quick.experts, "Quick mode: MoE experts (0 = dense MLP)");
  synth->add_option("--top-k", quick.top_k, "Quick mode: experts per token written to config.json");
  synth->add_flag("--act-order", quick.act_order, "Quick mode: act-order g_idx");
  synth->add_option("--seed", quick.seed, "Quick mode: seed");

  std::string demo_out;
  auto* demo = app.add_subcommand("demo", "Synthesize the built-in checkpoints, inspect and verify them");
  demo->add_option("--out", demo_out, "Where to write them (default: $TMPDIR/incq-demo)");
  demo->add_option("--act-dtype", act, "Activation dtype: f32, bf16, f16");
  demo->add_option("--tokens", tokens, "Token counts to run, comma-separated (default 1,3,16)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto logger = spdlog::stderr_color_mt("incq");
  spdlog::set_default_logger(logger);
  spdlog::set_level(verbosity >= 2 ? spdlog::level::debug : verbosity == 1 ? spdlog::level::info : spdlog::level::warn);

  try {
    if (*synth) return incq::cli::cmd_synth(spec_file, quick, synth_out, out);
    if (!backend.empty()) cli.backend = backend;
    if (!device.empty()) cli.device = device;
    if (threads > 0) cli.threads = threads;
    incq::host::Host host(incq::host::resolve_host_settings(cli, incq::host::process_env()));
    incq::host::VerifyOptions vopts;
    vopts.act_dtype = incq::cli::parse_act_dtype(act);
    vopts.tokens = parse_tokens(tokens);
    vopts.seed = seed;
    vopts.top_k = top_k;
    if (*plugins) return incq::cli::cmd_plugins(host, out);
    if (*inspect) return incq::cli::cmd_inspect(host, model_dir, vopts.act_dtype, out);
    if (*verify) return incq::cli::cmd_verify(host, model_dir, vopts, out);
    if (*demo) return incq::cli::cmd_demo(host, demo_out, vopts, out);
  } catch (const std::exception& e) {
    std::cerr << "incq: error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
