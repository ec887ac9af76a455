// Without ARK (the CI default): the ark plugin loads, reports itself unusable with the exact
// reason, `incq plugins` / `incq inspect` show it, and the host falls back to inc_cpu. Each case
// runs the real `incq` binary in a child process (ARK's state is probed once per process) with
// INCQ_ARK_PYTHON pointing at a stand-in interpreter that answers the plugin's probe the way a
// Python without ARK, with an old ARK or with a wheel missing its native libraries would.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_process.hpp"

namespace fs = std::filesystem;
using incq::e2e::run_process;

namespace {

const std::string kIncq = INCQ_TEST_INCQ_BINARY;
const std::string kPluginDir = INCQ_TEST_PLUGIN_DIR;
const char kSuffix[] = ".cpython-311-x86_64-linux-gnu.so";

class ArkUnavailable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("incq-ark-unavailable-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A stand-in interpreter: prints the probe's key=value answer whatever it is asked.
  std::string fake_python(const std::string& name, const std::string& ark_dir, const std::string& ark_version) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\ncat <<'EOF'\nversion=3.11.0\nhome=/usr\next_suffix=" << kSuffix
                     << "\nshared=1\nlibpython=libpython3.11.so.1.0\nark_dir=" << ark_dir
                     << "\nark_version=" << ark_version << "\nEOF\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  nlohmann::json plugins_json(const std::map<std::string, std::string>& env, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{kIncq, "--no-default-plugin-dirs", "--plugin-dir", kPluginDir, "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("plugins");
    const auto r = run_process(argv, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }

  static const nlohmann::json* find_plugin(const nlohmann::json& j, const std::string& name) {
    for (const auto& p : j["plugins"])
      if (p["name"] == name) return &p;
    return nullptr;
  }

  // The CPU availability detail of ark, asserting it is listed and NOT usable.
  std::string unusable_detail(const std::map<std::string, std::string>& env, const std::vector<std::string>& extra = {}) {
    const nlohmann::json j = plugins_json(env, extra);
    const nlohmann::json* ark = find_plugin(j, "ark");
    if (ark == nullptr) {
      ADD_FAILURE() << "ark not loaded: " << j.dump();
      return "";
    }
    EXPECT_FALSE((*ark)["availability"]["cpu"]["usable"].get<bool>());
    EXPECT_FALSE((*ark)["availability"]["opencl"]["usable"].get<bool>());
    // Loaded but unusable: its implementations are still registered and listed.
    EXPECT_EQ((*ark)["implementations"].size(), 2u) << ark->dump();
    return (*ark)["availability"]["cpu"]["detail"].get<std::string>();
  }

  std::string config_file(const std::string& ark_options_json) {
    const fs::path p = dir_ / "host.json";
    std::ofstream(p) << R"({"plugin_options": {"ark": )" << ark_options_json << "}}";
    return p.string();
  }

  fs::path dir_;
};

TEST_F(ArkUnavailable, PythonNotFound) {
  const std::string missing = (dir_ / "no-such-python").string();
  const std::string detail = unusable_detail({{"INCQ_ARK_PYTHON", missing}});
  EXPECT_EQ(detail, "Python not found: '" + missing + "': cannot run it: No such file or directory (set by INCQ_ARK_PYTHON)");
}

TEST_F(ArkUnavailable, ModuleNotFound) {
  const std::string py = fake_python("python-without-ark", "", "");
  EXPECT_EQ(unusable_detail({{"INCQ_ARK_PYTHON", py}}),
            "module auto_round_kernel not found by Python 3.11.0 at '" + py +
                "' (set by INCQ_ARK_PYTHON); install it with: pip install auto-round-lib");
}

TEST_F(ArkUnavailable, UnsupportedVersion) {
  const std::string py = fake_python("python-old-ark", (dir_ / "pkg").string(), "0.15.0");
  EXPECT_EQ(unusable_detail({{"INCQ_ARK_PYTHON", py}}),
            "unsupported version: auto-round-lib 0.15.0 in '" + (dir_ / "pkg").string() + "'; this bridge needs >= 0.16");
}

TEST_F(ArkUnavailable, NoBackendLibrary) {
  fs::create_directories(dir_ / "pkg");
  const std::string py = fake_python("python-no-backend", (dir_ / "pkg").string(), "0.16.0");
  EXPECT_EQ(unusable_detail({{"INCQ_ARK_PYTHON", py}}),
            std::string("no backend library available: neither auto_round_kernel_cpu") + kSuffix +
                " nor auto_round_kernel_xpu" + kSuffix + " in '" + (dir_ / "pkg").string() + "'");
}

TEST_F(ArkUnavailable, PluginOptionPythonIsUsedWhenTheEnvironmentSaysNothing) {
  const std::string py = fake_python("python-from-config", "", "");
  const std::string cfg = config_file(R"({"python": ")" + py + R"("})");
  EXPECT_EQ(unusable_detail({}, {"--config", cfg}),
            "module auto_round_kernel not found by Python 3.11.0 at '" + py +
                "' (set by plugin option 'python'); install it with: pip install auto-round-lib");
}

TEST_F(ArkUnavailable, UseNeverForbidsArk) {
  const std::string cfg = config_file(R"({"use": "never"})");
  EXPECT_EQ(unusable_detail({}, {"--config", cfg}), "disabled by the plugin option use=never");
}

TEST_F(ArkUnavailable, UseRequireWithoutArkIsAnErrorNamingTheReason) {
  const std::string py = fake_python("python-without-ark", "", "");
  const std::string cfg = config_file(R"({"use": "require"})");
  const nlohmann::json j = plugins_json({{"INCQ_ARK_PYTHON", py}}, {"--config", cfg});
  EXPECT_EQ(find_plugin(j, "ark"), nullptr);
  ASSERT_EQ(j["failed"].size(), 1u) << j.dump();
  const std::string reason = j["failed"][0]["reason"];
  EXPECT_NE(reason.find("ark: use=require but ARK is not usable: module auto_round_kernel not found by Python 3.11.0"),
            std::string::npos)
      << reason;
  // The others keep working.
  EXPECT_NE(find_plugin(j, "inc_cpu"), nullptr);
}

TEST_F(ArkUnavailable, BadPluginOptionFailsInitializeWithTheOptionNamed) {
  const nlohmann::json j = plugins_json({}, {"--config", config_file(R"({"use": "sometimes"})")});
  ASSERT_EQ(j["failed"].size(), 1u) << j.dump();
  EXPECT_NE(j["failed"][0]["reason"].get<std::string>().find("plugin option use = 'sometimes'"), std::string::npos);
}

// A layer ARK would take when present (int4 g128, large enough for ARK's layout to fit the
// checkpoint footprint) falls back to inc_cpu, and inspect names ARK's reason.
TEST_F(ArkUnavailable, HostFallsBackToIncCpuAndInspectShowsWhy) {
  const std::string py = fake_python("python-without-ark", "", "");
  const std::map<std::string, std::string> env{{"INCQ_ARK_PYTHON", py}};
  const std::string model = (dir_ / "model").string();
  auto r = run_process({kIncq, "synth", "--out", model, "--bits", "4", "--group-size", "128", "--hidden", "1024",
                        "--intermediate", "1024", "--experts", "0"},
                       env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_process({kIncq, "--no-default-plugin-dirs", "--plugin-dir", kPluginDir, "--json", "inspect", model}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["modules"].empty());
  for (const auto& m : j["modules"]) {
    if (m["kind"] != "linear") continue;
    EXPECT_EQ(m["plugin"], "inc_cpu") << m.dump();
    bool ark_rejected = false;
    for (const auto& rej : m["rejected"]) {
      if (rej["implementation"] != "ark.cpu.int_wo_linear") continue;
      ark_rejected = true;
      EXPECT_NE(rej["reason"].get<std::string>().find("module auto_round_kernel not found"), std::string::npos)
          << rej.dump();
    }
    EXPECT_TRUE(ark_rejected) << m.dump();
  }
  // ... and the fallback computes correctly.
  r = run_process({kIncq, "--no-default-plugin-dirs", "--plugin-dir", kPluginDir, "verify", model, "--tokens", "1,3"},
                  env);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Forcing ARK is an error that carries ARK's reason, never a silent fallback.
  r = run_process({kIncq, "--no-default-plugin-dirs", "--plugin-dir", kPluginDir, "--backend", "ark", "verify", model,
                   "--tokens", "1"},
                  env);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("module auto_round_kernel not found"), std::string::npos) << r.out << r.err;
}

}  // namespace
