// inc_xpu through the `incq` command on the CI's OpenCL device: availability reasons (no ICD, CPU
// devices disallowed, a kernel build failure with its log), `incq verify --device opencl` on an
// act-order checkpoint through device tensors, and `incq demo --device xpu` (fallback included).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "device_select.hpp"
#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

struct Scratch {
  std::string path;
  explicit Scratch(const std::string& tag) {
    path = (std::filesystem::temp_directory_path() / ("incq-xpu-" + tag + "-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~Scratch() { std::filesystem::remove_all(path); }
};

std::string incq_cmd() {
  return std::string(INCQ_TEST_INCQ_BINARY) + " --no-default-plugin-dirs --plugin-dir " + INCQ_TEST_PLUGIN_DIR;
}

// A host config giving inc_xpu these options (and the shared test program cache).
std::string write_config(const Scratch& s, const nlohmann::json& xpu_options) {
  nlohmann::json opts = xpu_options;
  if (!opts.contains("cache_dir")) opts["cache_dir"] = INCQ_XPU_TEST_CACHE_DIR;
  nlohmann::json cfg = {{"plugin_options", {{"inc_xpu", opts}}}};
  const std::string file = s.path + "/host.json";
  std::ofstream(file) << cfg.dump(2);
  return file;
}

nlohmann::json xpu_availability(const std::string& prefix_env, const std::string& config) {
  std::string out;
  const int rc = run_command(prefix_env + incq_cmd() + " --config " + config + " --json plugins", out);
  EXPECT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  for (const auto& p : j["plugins"])
    if (p["name"] == "inc_xpu") return p["availability"]["opencl"];
  ADD_FAILURE() << "inc_xpu is not listed: " << out;
  return {};
}

TEST(XpuCli, NoIcdIsTheExactReason) {
  Scratch s("noicd");
  std::filesystem::create_directories(s.path + "/vendors");
  const auto a = xpu_availability("OCL_ICD_VENDORS=" + s.path + "/vendors ", write_config(s, nlohmann::json::object()));
  EXPECT_EQ(a["usable"], false);
  EXPECT_NE(a["detail"].get<std::string>().find("no OpenCL ICD"), std::string::npos) << a.dump();
  EXPECT_NE(a["detail"].get<std::string>().find(s.path + "/vendors"), std::string::npos) << a.dump();
}

TEST(XpuCli, DeviceTypeAndMatchReasons) {
  Scratch s("devtype");
  // Without CPU devices: usable only if this machine has a GPU or accelerator, and then the
  // reason-free answer must name it; otherwise the exact "requested type" reason.
  const auto expect = cl_support::select_device({"", "", false});
  const auto a = xpu_availability("", write_config(s, {{"allow_cpu_devices", "false"}}));
  if (expect.device == nullptr) {
    EXPECT_EQ(a["usable"], false);
    EXPECT_NE(a["detail"].get<std::string>().find("no OpenCL device of the requested type"), std::string::npos) << a.dump();
  } else {
    EXPECT_EQ(a["usable"], true) << a.dump();
  }
  const auto b = xpu_availability("", write_config(s, {{"device", "no-such-device-name"}}));
  EXPECT_EQ(b["usable"], false);
  EXPECT_NE(b["detail"].get<std::string>().find("no OpenCL device matches device='no-such-device-name'"), std::string::npos)
      << b.dump();
  const auto c = xpu_availability("", write_config(s, {{"platform", "no-such-platform"}}));
  EXPECT_EQ(c["usable"], false);
  EXPECT_NE(c["detail"].get<std::string>().find("no OpenCL platform matches"), std::string::npos) << c.dump();
}

TEST(XpuCli, KernelBuildFailureCarriesTheLog) {
  Scratch s("buildfail");
  const auto a = xpu_availability("", write_config(s, {{"build_options", "-DINCQ_XPU_SELF_TEST_BUILD_ERROR"}}));
  EXPECT_EQ(a["usable"], false);
  const std::string d = a["detail"];
  EXPECT_NE(d.find("kernel build failed"), std::string::npos) << d;
  EXPECT_NE(d.find("build failure requested"), std::string::npos) << d;
}

TEST(XpuCli, VerifyActOrderCheckpointOnTheDevice) {
  Scratch s("actorder");
  std::string out;
  ASSERT_EQ(run_command(std::string(INCQ_TEST_INCQ_BINARY) + " synth --out " + s.path + "/ckpt --bits 4 --group-size 32 "
                            "--act-order --asym --hidden 96 --intermediate 160 --experts 4 --top-k 2 --seed 5",
                        out),
            0)
      << out;
  const int rc = run_command(incq_cmd() + " --config " + write_config(s, nlohmann::json::object()) +
                                 " --device opencl --json verify " + s.path + "/ckpt --tokens 1,7",
                             out);
  EXPECT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  int on_device = 0;
  for (const auto& m : j["modules"]) {
    EXPECT_TRUE(m["passed"].get<bool>()) << m.dump();
    if (m["implementation"].get<std::string>().rfind("inc_xpu.", 0) == 0) ++on_device;
  }
  EXPECT_GT(on_device, 0) << out;
}

TEST(XpuCli, DemoOnXpuPasses) {
  Scratch s("demo");
  std::string out;
  const int rc = run_command(incq_cmd() + " --config " + write_config(s, nlohmann::json::object()) +
                                 " --device xpu demo --out " + s.path + " --tokens 1,5",
                             out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("via inc_xpu."), std::string::npos) << "no layer ran on the device:\n" << out;
  // Every verified module ran on the device or says it fell back to the CPU (and why).
  std::istringstream lines(out);
  int modules = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("PASS ", 0) != 0 && line.rfind("FAIL ", 0) != 0) continue;
    ++modules;
    EXPECT_TRUE(line.find("via inc_xpu.") != std::string::npos || line.find("fallback to cpu") != std::string::npos)
        << line;
  }
  EXPECT_GT(modules, 10) << out;
}

}  // namespace
}  // namespace incq::xpu_test
