// The `incq` command line as a user runs it: a separate process, its exit code, what it prints on
// stdout (JSON here) and stderr, with the INCQ_* environment under the test's control.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/synth.hpp"
#include "e2e_support.hpp"
#include "raw_safetensors.hpp"
#include "run_process.hpp"

namespace incq::e2e {
namespace {

using json = nlohmann::ordered_json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kIncq = INCQ_TEST_INCQ_BINARY;
const std::string kPluginDir = INCQ_TEST_PLUGIN_DIR;
// The implementation inc_cpu's selection picks for these integer Linear layers (the fast one, above
// the reference), and every inc_cpu implementation that can run them (disable all to leave none).
const std::string kLinearImpl = "inc_cpu.fast.int_wo_linear";
const std::string kEveryLinearImpl = "inc_cpu.fast.int_wo_linear,inc_cpu.fast.int_wo_linear_int8,inc_cpu.ref.int_wo_linear";
const std::string kMoeImpl = "inc_cpu.fast.int_wo_moe";  // cpu-float's MoE driver over cpu-int's kernels

// `incq <args>` seeing only the build tree's plugins (unless `args` add more directories first).
ProcessResult incq(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                   bool build_tree_plugins = true) {
  std::vector<std::string> argv = {kIncq, "--no-default-plugin-dirs"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (build_tree_plugins) argv.insert(argv.begin() + 2, {"--plugin-dir", kPluginDir});
  return run_process(argv, env);
}

json stdout_json(const ProcessResult& r) {
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
    return json::object();
  }
}

std::string describe(const ProcessResult& r) { return "stdout:\n" + r.out + "\nstderr:\n" + r.err; }

const json* find_by(const json& list, const std::string& key, const std::string& value) {
  for (const auto& e : list)
    if (e.contains(key) && e[key] == value) return &e;
  return nullptr;
}

class Cli : public ::testing::Test {
 protected:
  // A small checkpoint written by `incq synth` itself: q/k/v/o 64 -> 64 and 2 experts, int4 g32.
  void SetUp() override {
    ckpt_ = dir_ / "ckpt";
    const ProcessResult r = incq({"synth", "--out", ckpt_, "--bits", "4", "--group-size", "32", "--hidden", "64",
                                  "--intermediate", "32", "--experts", "2", "--act-order"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }
  TempDir dir_{"cli"};
  std::string ckpt_;
};

TEST_F(Cli, PluginsJsonShowsIncCpuUsableWithItsImplementations) {
  const ProcessResult r = incq({"--json", "plugins"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = stdout_json(r);
  EXPECT_EQ(j["abi"], "1.0");
  EXPECT_EQ(j["plugin_dirs"], json::array({kPluginDir}));
  const json* p = find_by(j["plugins"], "name", "inc_cpu");
  ASSERT_NE(p, nullptr) << r.out;
  EXPECT_EQ((*p)["path"], kPluginDir + "/libincq_inc_cpu.so");
  EXPECT_EQ((*p)["abi"], "1.0");
  EXPECT_TRUE((*p)["version"].is_string());
  EXPECT_EQ((*p)["availability"]["cpu"]["usable"], true);
  EXPECT_TRUE((*p)["availability"]["cpu"]["detail"].is_string());
  for (const auto& name : {kLinearImpl, kMoeImpl}) {
    const json* impl = find_by((*p)["implementations"], "name", name);
    ASSERT_NE(impl, nullptr) << name;
    EXPECT_TRUE((*impl)["capabilities"].is_string());
    EXPECT_TRUE((*impl)["priority"].is_number_integer());
    EXPECT_TRUE((*impl)["tolerance"].is_number());
  }
  EXPECT_EQ(j["failed"], json::array());
  EXPECT_EQ(j["skipped"], json::array());
}

TEST_F(Cli, PluginPathFromTheEnvironment) {
  const ProcessResult r = incq({"--json", "plugins"}, {{"INCQ_PLUGIN_PATH", kPluginDir}}, false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = stdout_json(r);
  EXPECT_NE(find_by(j["plugins"], "name", "inc_cpu"), nullptr) << r.out;
}

TEST_F(Cli, QuickSynthThenInspectAndVerify) {
  const ProcessResult s = incq({"--json", "synth", "--out", dir_ / "quick", "--bits", "3", "--group-size", "32",
                                "--asym", "--packing-format", "auto_round", "--hidden", "64", "--intermediate", "32",
                                "--experts", "3"});
  ASSERT_EQ(s.exit_code, 0) << describe(s);
  const json sj = stdout_json(s);
  EXPECT_EQ(sj["out"], dir_ / "quick");
  EXPECT_EQ(sj["quantized_layers"], 4 + 3 * 3);  // q, k, v, o and each expert's three projections
  EXPECT_EQ(sj["dense_layers"], 0);
  EXPECT_GT(sj["bytes"].get<int64_t>(), 0);

  const ProcessResult i = incq({"--json", "inspect", dir_ / "quick"});
  ASSERT_EQ(i.exit_code, 0) << describe(i);
  const json ij = stdout_json(i);
  EXPECT_EQ(ij["model_dir"], dir_ / "quick");
  EXPECT_EQ(ij["checkpoint_backend"], "");
  EXPECT_EQ(ij["dense"], json::array());
  ASSERT_EQ(ij["modules"].size(), 5u);
  for (const auto& m : ij["modules"]) {
    const bool moe = m["kind"] == "moe";
    EXPECT_EQ(m["chosen"], moe ? kMoeImpl : kLinearImpl) << m.dump();
    EXPECT_EQ(m["plugin"], "inc_cpu");
    EXPECT_THAT(m["how"].get<std::string>(), HasSubstr("highest priority"));
    EXPECT_THAT(m["scheme"].get<std::string>(), HasSubstr("3"));
    for (const char* key : {"name", "rule", "sizes"}) EXPECT_TRUE(m[key].is_string()) << key;
    for (const char* key : {"has_g_idx", "has_bias"}) EXPECT_TRUE(m[key].is_boolean()) << key;
    EXPECT_GT(m["packed_bytes"].get<int64_t>(), 0);
    EXPECT_TRUE(m["rejected"].is_array());
  }
  EXPECT_NE(find_by(ij["modules"], "name", "model.layers.0.mlp.experts"), nullptr);

  const ProcessResult v = incq({"--json", "verify", dir_ / "quick", "--tokens", "1,5", "--act-dtype", "bf16"});
  ASSERT_EQ(v.exit_code, 0) << describe(v);
  const json vj = stdout_json(v);
  EXPECT_EQ(vj["model_dir"], dir_ / "quick");
  EXPECT_EQ(vj["passed"], true);
  ASSERT_EQ(vj["modules"].size(), 6u);  // five modules and the fused q/k/v
  for (const auto& m : vj["modules"]) {
    EXPECT_EQ(m["passed"], true) << m.dump();
    EXPECT_FALSE(m.contains("error")) << m.dump();
    for (const char* key : {"name", "kind", "scheme", "implementation"}) EXPECT_TRUE(m[key].is_string()) << key;
    for (const char* key : {"tolerance", "load_ms"}) EXPECT_TRUE(m[key].is_number()) << key;
    EXPECT_LE(m["resident_bytes"].get<double>(), 1.05 * m["packed_bytes"].get<double>());
    ASSERT_EQ(m["runs"].size(), 2u);
    EXPECT_EQ(m["runs"][0]["tokens"], 1);
    EXPECT_EQ(m["runs"][1]["tokens"], 5);
    for (const auto& run : m["runs"])
      for (const char* key : {"max_abs_err", "max_err_over_bound", "nmse", "apply_ms"})
        EXPECT_TRUE(run[key].is_number()) << key;
  }
}

TEST_F(Cli, SpecSynthWithADenseLayerThenInspectAndVerify) {
  const std::string spec = dir_ / "spec.json";
  write_json(spec, json::parse(R"({
    "seed": 4,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:auto_awq",
      "bits": 4, "group_size": 32, "sym": false, "data_type": "int", "block_name_to_quantize": "model.layers"},
    "layers": [
      {"name": "model.layers.0.mlp.down_proj", "in_features": 96, "out_features": 40, "bias": true},
      {"name": "lm_head", "in_features": 96, "out_features": 48}
    ]})"));
  const ProcessResult s = incq({"--json", "synth", "--spec", spec, "--out", dir_ / "spec"});
  ASSERT_EQ(s.exit_code, 0) << describe(s);
  EXPECT_EQ(stdout_json(s)["quantized_layers"], 1);
  EXPECT_EQ(stdout_json(s)["dense_layers"], 1);

  const ProcessResult i = incq({"--json", "inspect", dir_ / "spec"});
  ASSERT_EQ(i.exit_code, 0) << describe(i);
  const json ij = stdout_json(i);
  ASSERT_EQ(ij["modules"].size(), 1u);
  EXPECT_EQ(ij["modules"][0]["has_bias"], true);
  ASSERT_EQ(ij["dense"].size(), 1u);
  EXPECT_EQ(ij["dense"][0]["name"], "lm_head");
  EXPECT_THAT(ij["dense"][0]["rule"].get<std::string>(), HasSubstr("block_name_to_quantize"));

  const ProcessResult v = incq({"--json", "verify", dir_ / "spec"});
  ASSERT_EQ(v.exit_code, 0) << describe(v);
  EXPECT_EQ(stdout_json(v)["passed"], true);
}

TEST_F(Cli, DemoJsonPasses) {
  const ProcessResult r = incq({"--json", "demo", "--out", dir_ / "demo", "--tokens", "1,4"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = stdout_json(r);
  EXPECT_EQ(j["passed"], true);
  ASSERT_EQ(j["checkpoints"].size(), host::demo_specs().size());
  for (const auto& c : j["checkpoints"]) {
    EXPECT_EQ(c["verify"]["passed"], true) << c["checkpoint"];
    EXPECT_GT(c["quantized_layers"].get<int64_t>(), 0);
    EXPECT_TRUE(c["inspect"]["modules"].is_array());
  }
}

TEST_F(Cli, UnknownBackendFromTheEnvironmentNamesTheBackendAndTheLayer) {
  const ProcessResult r = incq({"--json", "verify", ckpt_}, {{"INCQ_BACKEND", "nonexistent"}});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const json j = stdout_json(r);
  EXPECT_EQ(j["passed"], false);
  const json* q = find_by(j["modules"], "name", "model.layers.0.self_attn.q_proj");
  ASSERT_NE(q, nullptr) << r.out;
  EXPECT_THAT((*q)["error"].get<std::string>(),
              HasSubstr("layer 'model.layers.0.self_attn.q_proj': backend 'nonexistent' (from INCQ_BACKEND) names no "
                        "loaded plugin or implementation"));
}

TEST_F(Cli, PluginDisabledFromTheEnvironment) {
  const std::map<std::string, std::string> env = {{"INCQ_DISABLE", "inc_cpu"}};
  const ProcessResult p = incq({"--json", "plugins"}, env);
  ASSERT_EQ(p.exit_code, 0) << describe(p);
  const json pj = stdout_json(p);
  const json* skipped = find_by(pj["skipped"], "name", "inc_cpu");
  ASSERT_NE(skipped, nullptr) << p.out;
  EXPECT_EQ((*skipped)["reason"], "disabled by INCQ_DISABLE");
  EXPECT_EQ(find_by(pj["plugins"], "name", "inc_cpu"), nullptr);

  const ProcessResult v = incq({"--json", "verify", ckpt_}, env);
  EXPECT_EQ(v.exit_code, 1) << describe(v);
  const ProcessResult i = incq({"--json", "inspect", ckpt_}, env);
  EXPECT_EQ(i.exit_code, 1) << describe(i);
  // Inspect must say why nothing can run the layer: the plugin that could was disabled.
  const json ij = stdout_json(i);
  ASSERT_EQ(ij["modules"].size(), 5u);
  for (const auto& m : ij["modules"])
    EXPECT_THAT(m["error"].get<std::string>(), HasSubstr("inc_cpu (" + kPluginDir + "/libincq_inc_cpu.so): disabled by INCQ_DISABLE"))
        << m["name"];
}

TEST_F(Cli, ImplementationDisabledFromTheEnvironment) {
  const ProcessResult i = incq({"--json", "inspect", ckpt_}, {{"INCQ_DISABLE", kEveryLinearImpl}});
  EXPECT_EQ(i.exit_code, 1) << describe(i);
  const json j = stdout_json(i);
  const json* q = find_by(j["modules"], "name", "model.layers.0.self_attn.q_proj");
  ASSERT_NE(q, nullptr) << i.out;
  EXPECT_TRUE((*q)["chosen"].is_null());
  // Other plugins' candidates (ark ...) may be listed before inc_cpu's: check both lines, not their order.
  EXPECT_THAT((*q)["error"].get<std::string>(),
              HasSubstr("layer 'model.layers.0.self_attn.q_proj': no implementation can run it:\n  - "));
  EXPECT_THAT((*q)["error"].get<std::string>(), HasSubstr("\n  - " + kLinearImpl + " (inc_cpu): disabled by INCQ_DISABLE"));
  // The MoE block is untouched by disabling the Linear implementation.
  const json* moe = find_by(j["modules"], "name", "model.layers.0.mlp.experts");
  ASSERT_NE(moe, nullptr);
  EXPECT_EQ((*moe)["chosen"], kMoeImpl);
}

// inspect --json keeps the rejected candidates in "rejected" also when none can run the layer
// (not only inside the "error" text).
TEST_F(Cli, InspectJsonListsTheRejectionsWhenNothingCanRunALayer) {
  const ProcessResult i = incq({"--json", "inspect", ckpt_}, {{"INCQ_DISABLE", kEveryLinearImpl}});
  const json j = stdout_json(i);
  const json* q = find_by(j["modules"], "name", "model.layers.0.self_attn.q_proj");
  ASSERT_NE(q, nullptr) << i.out;
  // Every registered Linear implementation is listed; the disabled one with that reason.
  const json* disabled = find_by((*q)["rejected"], "implementation", kLinearImpl);
  ASSERT_NE(disabled, nullptr) << q->dump(2);
  EXPECT_EQ((*disabled)["reason"], "disabled by INCQ_DISABLE");
  EXPECT_EQ((*q)["chosen"], nullptr) << q->dump(2);
}

TEST_F(Cli, CommandLineBackendBeatsTheHostConfig) {
  const std::string config = dir_ / "host.json";
  write_json(config, {{"backend", "some_other_backend"}});
  // The config alone forces a backend nothing provides ...
  const ProcessResult alone = incq({"--json", "--config", config, "inspect", ckpt_});
  EXPECT_EQ(alone.exit_code, 1) << describe(alone);
  EXPECT_THAT(alone.out, HasSubstr("backend 'some_other_backend' (from host config " + config + " key 'backend')"));
  // ... and --backend overrides it.
  const ProcessResult r = incq({"--json", "--config", config, "--backend", "inc_cpu", "inspect", ckpt_});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = stdout_json(r);
  ASSERT_EQ(j["modules"].size(), 5u);
  for (const auto& m : j["modules"]) {
    EXPECT_EQ(m["how"], "forced by --backend") << m["name"];
    EXPECT_EQ(m["plugin"], "inc_cpu");
  }
}

TEST_F(Cli, HostConfigWithAnUnknownKeyIsAnError) {
  const std::string config = dir_ / "host.json";
  write_json(config, {{"plugin_dir", json::array({kPluginDir})}});  // typo for plugin_dirs
  const ProcessResult r = incq({"--config", config, "plugins"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr(config + ": unknown key 'plugin_dir'"));
  // Also when named by INCQ_CONFIG.
  const ProcessResult e = incq({"plugins"}, {{"INCQ_CONFIG", config}});
  EXPECT_EQ(e.exit_code, 1) << describe(e);
  EXPECT_THAT(e.err, HasSubstr(config + ": unknown key 'plugin_dir'"));
}

TEST_F(Cli, BrokenPluginIsReportedAndTheOthersStillWork) {
  const std::string broken_dir = dir_ / "broken";
  std::filesystem::create_directories(broken_dir);
  const std::string broken = broken_dir + "/libincq_broken.so";
  write_text(broken, "this is not a shared object\n");

  const ProcessResult p = incq({"--json", "--plugin-dir", broken_dir, "plugins"});
  ASSERT_EQ(p.exit_code, 0) << describe(p);
  const json j = stdout_json(p);
  const json* failed = find_by(j["failed"], "path", broken);
  ASSERT_NE(failed, nullptr) << p.out;
  EXPECT_THAT((*failed)["reason"].get<std::string>(), HasSubstr("dlopen failed: " + broken));
  const json* cpu = find_by(j["plugins"], "name", "inc_cpu");
  ASSERT_NE(cpu, nullptr) << p.out;
  EXPECT_EQ((*cpu)["availability"]["cpu"]["usable"], true);

  const ProcessResult v = incq({"--json", "--plugin-dir", broken_dir, "verify", ckpt_, "--tokens", "2"});
  EXPECT_EQ(v.exit_code, 0) << describe(v);
}

TEST_F(Cli, VerifyOfACheckpointWithANaNScaleFails) {
  RawSafetensors raw = RawSafetensors::read(single_shard(ckpt_));
  write_u16(raw.bytes_of("model.layers.0.self_attn.o_proj.scales"), 0x7E00);
  raw.write(single_shard(ckpt_));
  const ProcessResult r = incq({"--json", "verify", ckpt_});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const json j = stdout_json(r);
  EXPECT_EQ(j["passed"], false);
  const json* o = find_by(j["modules"], "name", "model.layers.0.self_attn.o_proj");
  ASSERT_NE(o, nullptr) << r.out;
  EXPECT_EQ((*o)["passed"], false);
  EXPECT_THAT((*o)["error"].get<std::string>(), HasSubstr("scales[0, 0] is NaN"));
}

TEST_F(Cli, VerifyOfATruncatedCheckpointFails) {
  const std::string file = single_shard(ckpt_);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  const ProcessResult r = incq({"verify", ckpt_});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("incq: error: " + file));
  EXPECT_THAT(r.err, HasSubstr("reach past the data section"));
  EXPECT_THAT(r.out, Not(HasSubstr("PASS")));
}

}  // namespace
}  // namespace incq::e2e
