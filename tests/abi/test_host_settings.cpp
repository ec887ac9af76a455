// Settings precedence (host_settings.hpp): command line > environment > host config file >
// checkpoint > automatic, resolved with a fake environment and host-config files in a temp dir.
// The last tests carry the resolved settings all the way into the configurable fake plugins.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "core/host_settings.hpp"
#include "core/layer_options.hpp"
#include "core/loaded_layer.hpp"
#include "core/plugin_loader.hpp"
#include "core/selection.hpp"
#include "support/int_layer_case.hpp"
#include "support/temp_dir.hpp"

namespace {

using incq::host::BackendChoice;
using incq::host::CommandLineSettings;
using incq::host::EnvLookup;
using incq::host::HostSettings;
using incq::host::resolve_host_settings;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(const CommandLineSettings& cli, const EnvLookup& env) {
  try {
    resolve_host_settings(cli, env);
  } catch (const incq::host::Error& e) {
    return e.what();
  }
  return "<no error>";
}

bool same_choice(const std::optional<BackendChoice>& c, const std::string& name, const std::string& source) {
  return c && c->name == name && c->source == source;
}

std::vector<std::string> names_and_sources(const std::vector<BackendChoice>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.name + " <- " + c.source);
  return out;
}

class HostSettingsTest : public ::testing::Test {
 protected:
  incq::abi_test::TempDir dir_;
};

// ------------------------------------------------------------------ plugin directories

TEST_F(HostSettingsTest, PluginDirsCommandLineThenEnvironmentThenHostConfig) {
  CommandLineSettings cli;
  cli.plugin_dirs = {"/cli/a"};
  cli.config_file = dir_.write("host.json", R"({"plugin_dirs": ["/cfg/d"], "default_plugin_dirs": false})");
  const HostSettings s = resolve_host_settings(cli, fake_env({{"INCQ_PLUGIN_PATH", "/env/b:/env/c"}}));
  EXPECT_THAT(s.plugin_dirs, ElementsAre("/cli/a", "/env/b", "/env/c", "/cfg/d"));
  EXPECT_EQ(s.config_file, *cli.config_file);
}

TEST_F(HostSettingsTest, PluginPathSkipsEmptyEntries) {
  CommandLineSettings cli;
  cli.no_default_plugin_dirs = true;
  const HostSettings s = resolve_host_settings(cli, fake_env({{"INCQ_PLUGIN_PATH", ":/env/b::/env/c:"}}));
  EXPECT_THAT(s.plugin_dirs, ElementsAre("/env/b", "/env/c"));
}

TEST_F(HostSettingsTest, DefaultDirsComeLastAndIncludeTheBuildTree) {
  CommandLineSettings cli;
  cli.plugin_dirs = {"/cli/a"};
  const HostSettings s = resolve_host_settings(cli, fake_env({{"INCQ_PLUGIN_PATH", "/env/b"}}));
  ASSERT_GE(s.plugin_dirs.size(), 3u);
  EXPECT_EQ(s.plugin_dirs[0], "/cli/a");
  EXPECT_EQ(s.plugin_dirs[1], "/env/b");
  const std::string build_dir = std::filesystem::weakly_canonical(INCQ_TEST_PLUGIN_DIR).string();
  EXPECT_THAT(std::vector<std::string>(s.plugin_dirs.begin() + 2, s.plugin_dirs.end()), ::testing::Contains(build_dir));
}

TEST_F(HostSettingsTest, NoDefaultPluginDirsOnTheCommandLineOutranksTheHostConfig) {
  CommandLineSettings cli;
  cli.plugin_dirs = {"/cli/a"};
  cli.no_default_plugin_dirs = true;
  cli.config_file = dir_.write("host.json", R"({"plugin_dirs": ["/cfg/d"], "default_plugin_dirs": true})");
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  EXPECT_THAT(s.plugin_dirs, ElementsAre("/cli/a", "/cfg/d"));
}

// ------------------------------------------------------------------ backend, disable, config file

TEST_F(HostSettingsTest, EveryBackendLevelIsKeptWithItsSource) {
  CommandLineSettings cli;
  cli.backend = "fake_alpha";
  cli.config_file = dir_.write("host.json", R"({"backend": "fake_gamma", "default_plugin_dirs": false})");
  const HostSettings s = resolve_host_settings(cli, fake_env({{"INCQ_BACKEND", "fake_beta"}}));
  EXPECT_TRUE(same_choice(s.policy.cli_backend, "fake_alpha", "--backend"));
  EXPECT_TRUE(same_choice(s.policy.env_backend, "fake_beta", "INCQ_BACKEND"));
  EXPECT_TRUE(same_choice(s.policy.config_backend, "fake_gamma", "host config " + *cli.config_file + " key 'backend'"));
}

TEST_F(HostSettingsTest, AnEmptyIncqBackendIsNotAChoice) {
  const HostSettings s = resolve_host_settings({}, fake_env({{"INCQ_BACKEND", ""}}));
  EXPECT_FALSE(s.policy.env_backend.has_value());
}

TEST_F(HostSettingsTest, DisableListsFromEveryLevelAreMerged) {
  CommandLineSettings cli;
  cli.disable = {"cli_a,cli_b"};
  cli.config_file = dir_.write("host.json", R"({"disable": ["cfg_c"], "default_plugin_dirs": false})");
  const HostSettings s = resolve_host_settings(cli, fake_env({{"INCQ_DISABLE", "env_x,,env_y"}}));
  EXPECT_THAT(names_and_sources(s.policy.disabled),
              ElementsAre("cli_a <- --disable", "cli_b <- --disable", "env_x <- INCQ_DISABLE", "env_y <- INCQ_DISABLE",
                          "cfg_c <- host config " + *cli.config_file + " key 'disable'"));
}

TEST_F(HostSettingsTest, ConfigOnTheCommandLineOutranksIncqConfig) {
  const std::string from_env = dir_.write("env.json", R"({"backend": "from_env", "default_plugin_dirs": false})");
  const std::string from_cli = dir_.write("cli.json", R"({"backend": "from_cli", "default_plugin_dirs": false})");
  HostSettings s = resolve_host_settings({}, fake_env({{"INCQ_CONFIG", from_env}}));
  EXPECT_EQ(s.config_file, from_env);
  EXPECT_EQ(s.policy.config_backend->name, "from_env");
  CommandLineSettings cli;
  cli.config_file = from_cli;
  s = resolve_host_settings(cli, fake_env({{"INCQ_CONFIG", from_env}}));
  EXPECT_EQ(s.config_file, from_cli);
  EXPECT_EQ(s.policy.config_backend->name, "from_cli");
}

TEST_F(HostSettingsTest, CommandLineThreadsAndDeviceOutrankTheHostConfig) {
  const std::string file =
      dir_.write("host.json", R"({"threads": 3, "device": "opencl", "default_plugin_dirs": false})");
  CommandLineSettings cli;
  cli.config_file = file;
  HostSettings s = resolve_host_settings(cli, fake_env({}));
  EXPECT_EQ(s.threads, 3);
  EXPECT_EQ(s.policy.device_type, INCQ_DEVICE_OPENCL);
  cli.threads = 2;
  cli.device = "cpu";
  s = resolve_host_settings(cli, fake_env({}));
  EXPECT_EQ(s.threads, 2);
  EXPECT_EQ(s.policy.device_type, INCQ_DEVICE_CPU);
}

TEST_F(HostSettingsTest, LayerBackendRulesAreReadInOrderWithTheirSource) {
  CommandLineSettings cli;
  cli.config_file = dir_.write(
      "host.json", R"({"layer_backends": {"down_proj$": "fake_alpha", "experts": "fake_beta"}, "default_plugin_dirs": false})");
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  ASSERT_EQ(s.policy.config_layer_backends.size(), 2u);
  EXPECT_EQ(s.policy.config_layer_backends[0].pattern, "down_proj$");
  EXPECT_EQ(s.policy.config_layer_backends[0].choice.name, "fake_alpha");
  EXPECT_EQ(s.policy.config_layer_backends[0].choice.source, "host config " + *cli.config_file + " layer_backends 'down_proj$'");
  EXPECT_EQ(s.policy.config_layer_backends[1].pattern, "experts");
}

TEST_F(HostSettingsTest, LayerOptionsFromTheCommandLineOutrankTheHostConfigKeyByKey) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("host.json", R"({"default_plugin_dirs": false, "layer_options": {
      "down_proj$": {"compute_type": "int8", "block": 64}, "mlp": {"compute_type": "fp32", "extra": true}}})");
  cli.layer_options = {"compute_type=bf16"};
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(incq::host::options_for_layer(s.policy.layer_options, "model.layers.0.mlp.down_proj"),
            (Map{{"block", "64"}, {"compute_type", "bf16"}, {"extra", "true"}}));
  EXPECT_EQ(incq::host::options_for_layer(s.policy.layer_options, "model.layers.0.self_attn.q_proj"),
            (Map{{"compute_type", "bf16"}}));
  cli.layer_options.clear();
  const HostSettings c = resolve_host_settings(cli, fake_env({}));
  // Without the command line, the first matching config rule wins for each key.
  EXPECT_EQ(incq::host::options_for_layer(c.policy.layer_options, "model.layers.0.mlp.down_proj"),
            (Map{{"block", "64"}, {"compute_type", "int8"}, {"extra", "true"}}));
  EXPECT_EQ(incq::host::options_for_layer(c.policy.layer_options, "model.layers.0.mlp.up_proj"),
            (Map{{"compute_type", "fp32"}, {"extra", "true"}}));
  EXPECT_TRUE(incq::host::options_for_layer(c.policy.layer_options, "lm_head").empty());
}

TEST_F(HostSettingsTest, MalformedLayerOptionsAreErrorsNamingTheirSource) {
  CommandLineSettings cli;
  cli.layer_options = {"compute_type"};
  EXPECT_EQ(error_of(cli, fake_env({})), "--layer-option: 'compute_type' is not KEY=VALUE");
  cli.layer_options = {"=int8"};
  EXPECT_EQ(error_of(cli, fake_env({})), "--layer-option: '=int8' is not KEY=VALUE");
  cli.layer_options.clear();
  cli.config_file = dir_.write("bad1.json", R"({"layer_options": {"mlp.(": {"compute_type": "int8"}}})");
  EXPECT_THAT(error_of(cli, fake_env({})), HasSubstr(*cli.config_file + ": layer_options key 'mlp.(' is not a valid regex"));
  cli.config_file = dir_.write("bad2.json", R"({"layer_options": {"mlp": "int8"}})");
  EXPECT_EQ(error_of(cli, fake_env({})), *cli.config_file + ": layer_options.mlp must be an object of options");
  cli.config_file = dir_.write("bad3.json", R"({"layer_options": {"mlp": {"compute_type": ["int8"]}}})");
  EXPECT_EQ(error_of(cli, fake_env({})),
            *cli.config_file + ": layer_options.mlp.compute_type must be a string, number or bool");
}

// ------------------------------------------------------------------ errors name the file and key

TEST_F(HostSettingsTest, UnknownConfigKeyIsAnErrorNamingFileAndKey) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("typo.json", R"({"plugin_dir": ["/x"]})");
  EXPECT_THAT(error_of(cli, fake_env({})), HasSubstr(*cli.config_file + ": unknown key 'plugin_dir' (known: plugin_dirs,"));
}

TEST_F(HostSettingsTest, InvalidLayerRegexIsAnError) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("bad_regex.json", R"({"layer_backends": {"mlp.(": "fake_alpha"}})");
  EXPECT_THAT(error_of(cli, fake_env({})),
              HasSubstr(*cli.config_file + ": layer_backends key 'mlp.(' is not a valid regex"));
}

TEST_F(HostSettingsTest, WrongTypeIsAnErrorNamingTheKey) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("wrong_type.json", R"({"backend": 5})");
  EXPECT_EQ(error_of(cli, fake_env({})), *cli.config_file + ": key 'backend' must be a string, got 5");
}

TEST_F(HostSettingsTest, MissingConfigFileIsAnError) {
  const std::string missing = dir_.path() + "/nowhere.json";
  EXPECT_EQ(error_of({}, fake_env({{"INCQ_CONFIG", missing}})), missing + ": cannot open host config file");
}

TEST_F(HostSettingsTest, UnknownDeviceIsAnErrorNamingItsSource) {
  CommandLineSettings cli;
  cli.device = "tpu";
  EXPECT_EQ(error_of(cli, fake_env({})), "--device: unknown device 'tpu' (known: cpu, opencl/xpu)");
}

// ------------------------------------------------------------------ into the plugins

std::string fake(const std::string& name) {
  return INCQ_TEST_FAKE_PLUGIN_DIR "/selection/libincq_fake_" + name + ".so";
}

TEST_F(HostSettingsTest, PluginOptionsFromTheHostConfigReachInitialize) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("host.json", R"({"default_plugin_dirs": false, "plugin_options": {
      "fake_alpha": {"detail": "configured by the host config", "impl": "alpha.from_config", "priority": 7}}})");
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  incq::host::PluginSet set;
  set.set_plugin_options(s.plugin_options);
  auto alpha = set.load_file(fake("alpha"));
  ASSERT_NE(alpha, nullptr) << set.failures().at(0).reason;
  // The fake echoes its options: the probe detail, the implementation's name and priority.
  EXPECT_EQ(alpha->availability(INCQ_DEVICE_CPU).detail, "configured by the host config");
  const auto* impl = set.registry().find("alpha.from_config");
  ASSERT_NE(impl, nullptr);
  EXPECT_EQ(impl->desc->priority, 7);
}

TEST_F(HostSettingsTest, AnOptionThePluginDoesNotKnowFailsItsInitializeByName) {
  CommandLineSettings cli;
  cli.config_file = dir_.write(
      "host.json", R"({"default_plugin_dirs": false, "plugin_options": {"fake_alpha": {"colour": "blue"}}})");
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  incq::host::PluginSet set;
  set.set_plugin_options(s.plugin_options);
  EXPECT_EQ(set.load_file(fake("alpha")), nullptr);
  ASSERT_EQ(set.failures().size(), 1u);
  EXPECT_EQ(set.failures()[0].reason,
            "plugin 'fake_alpha': initialize failed (status 1): fake_alpha: unknown option 'colour'");
}

// A layer option reaches the chosen implementation's create(): the fake writes its marker option.
TEST_F(HostSettingsTest, LayerOptionsReachCreateOfTheChosenImplementation) {
  CommandLineSettings cli;
  cli.config_file = dir_.write("host.json", R"({"default_plugin_dirs": false,
      "layer_options": {"q_proj$": {"marker": 42}, "k_proj$": {"colour": "blue"}}})");
  const HostSettings s = resolve_host_settings(cli, fake_env({}));
  incq::host::PluginSet set;
  ASSERT_NE(set.load_file(fake("alpha")), nullptr);
  const incq::abi_test::LayerCase layer =
      incq::abi_test::make_linear_case(incq::abi_test::IntScheme{}, 1, 64, 32, /*seed=*/5);
  incq_layer_desc desc = layer.desc();
  const auto* impl = set.registry().find("fake_alpha.linear");
  ASSERT_NE(impl, nullptr);
  auto run = [&](const std::string& name) {
    desc.name = name.c_str();
    auto l = incq::host::LoadedLayer::load(*impl, desc, incq::abi_test::cpu_device(), {}, INCQ_PACKING_GPTQ_V2,
                                           incq::host::options_for_layer(s.policy.layer_options, name));
    std::vector<float> x(64, 1.0f), y(32, -1.0f);
    incq_tensor xt = incq::host::cpu_tensor(x.data(), INCQ_DTYPE_F32, {1, 64});
    incq_tensor yt = incq::host::cpu_tensor(y.data(), INCQ_DTYPE_F32, {1, 32});
    incq_exec exec{};
    exec.struct_size = sizeof exec;
    exec.max_threads = 1;
    l->apply_linear(xt, yt, exec);
    return y[0];
  };
  EXPECT_EQ(run("model.layers.0.self_attn.q_proj"), 42.0f);
  EXPECT_EQ(run("model.layers.0.self_attn.v_proj"), 0.0f);  // no options: the priority (0)
  try {
    run("model.layers.0.self_attn.k_proj");
    ADD_FAILURE() << "an unknown layer option must fail create";
  } catch (const incq::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("layer 'model.layers.0.self_attn.k_proj' (fake_alpha.linear): create failed: "
                                    "fake_alpha: unknown layer option 'colour'"));
  }
}

// Resolved settings, then selection over real fake plugins: who wins at each level.
TEST_F(HostSettingsTest, ResolvedBackendLevelsDecideTheSelection) {
  const std::string config = dir_.write("host.json", R"({"backend": "fake_gamma", "default_plugin_dirs": false})");
  incq::host::PluginSet set;
  for (const char* name : {"alpha", "beta", "gamma"}) ASSERT_NE(set.load_file(fake(name)), nullptr);
  const incq::abi_test::LayerCase layer =
      incq::abi_test::make_linear_case(incq::abi_test::IntScheme{}, 1, 64, 32, /*seed=*/5);
  const incq_layer_desc desc = layer.desc();
  auto chosen = [&](const CommandLineSettings& cli, const EnvLookup& env) {
    const HostSettings s = resolve_host_settings(cli, env);
    return incq::host::select_implementation(set.registry(), desc, incq::abi_test::cpu_device(), s.policy)
        .chosen->name;
  };
  CommandLineSettings cli;
  cli.config_file = config;
  EXPECT_EQ(chosen(cli, fake_env({})), "fake_gamma.linear");
  EXPECT_EQ(chosen(cli, fake_env({{"INCQ_BACKEND", "fake_beta"}})), "fake_beta.linear");
  cli.backend = "fake_alpha";
  EXPECT_EQ(chosen(cli, fake_env({{"INCQ_BACKEND", "fake_beta"}})), "fake_alpha.linear");
  // INCQ_DISABLE takes an automatic winner out of the running.
  EXPECT_EQ(chosen({}, fake_env({{"INCQ_DISABLE", "fake_alpha"}, {"INCQ_PLUGIN_PATH", ""}})), "fake_beta.linear");
}

}  // namespace
