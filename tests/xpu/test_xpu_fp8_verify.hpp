// Shared by the float-format inc_xpu tests (test_xpu_fp8.cpp, test_xpu_mx.cpp, test_xpu_w4a8.cpp):
// a checkpoint synthesized with the host's quantizers (docs/formats.md §4) is verified through the
// host's OpenCL device path — plugin selection for an OpenCL device, device tensors, the oracle
// with activation quantization — and every module must pass *on inc_xpu* (a CPU fallback fails).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/host.hpp"
#include "core/synth.hpp"
#include "core/verify.hpp"
#include "nlohmann/json.hpp"

namespace incq::xpu_test {

using ojson = nlohmann::ordered_json;

struct DeviceRun {
  int32_t act_dtype;
  std::vector<int64_t> tokens;
};

// Verifies `layers` quantized with `qc` on the OpenCL device; returns one line per failure ("" =
// every module passed on an inc_xpu implementation whose name starts with impl_prefix).
inline std::string verify_on_device(const std::string& name, ojson qc, ojson layers,
                                    const std::vector<DeviceRun>& runs, const std::string& impl_prefix,
                                    int top_k = 2) {
  qc["quant_method"] = "auto-round";
  ojson spec;
  spec["seed"] = 31u;
  spec["num_experts_per_tok"] = top_k;
  spec["quantization_config"] = qc;
  spec["layers"] = std::move(layers);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("incq-xpu-float-" + name);
  std::filesystem::remove_all(dir);
  host::synthesize_checkpoint(spec, dir.string(), name);
  host::HostSettings settings;
  settings.plugin_dirs = {INCQ_TEST_PLUGIN_DIR};
  settings.threads = 1;
  settings.policy.device_type = INCQ_DEVICE_OPENCL;
  settings.plugin_options["inc_xpu"] = {{"cache_dir", INCQ_XPU_TEST_CACHE_DIR}};
  host::Host host(settings);
  std::string failures;
  for (const DeviceRun& run : runs) {
    host::VerifyOptions o;
    o.act_dtype = run.act_dtype;
    o.tokens = run.tokens;
    const host::ModelVerification r = host::verify_model(host, dir.string(), o);
    for (const auto& m : r.modules) {
      const std::string where = name + " dtype " + std::to_string(run.act_dtype) + " " + m.name + " [" + m.kind + "] ";
      if (!m.passed) failures += where + "failed: " + m.error + "\n";
      if (m.kind != "fused" && m.implementation.rfind(impl_prefix, 0) != 0)
        failures += where + "ran on " + m.implementation + ", not " + impl_prefix + "*\n";
      if (m.kind != "fused" && static_cast<double>(m.resident_bytes) > 1.05 * static_cast<double>(m.packed_bytes))
        failures += where + "resident bytes " + std::to_string(m.resident_bytes) + " above 1.05 x the checkpoint\n";
      for (const auto& x : m.runs) {
        if (!(x.max_err_over_bound <= 1.0))
          failures += where + "T=" + std::to_string(x.tokens) + " err/bound " + std::to_string(x.max_err_over_bound) + "\n";
      }
    }
  }
  std::filesystem::remove_all(dir);
  return failures;
}

// Linear layers whose sizes hit every remainder of the kernels (16-row blocks, 128 lanes x 8 or 16
// elements per step), merged q/k/v with biases and a gate/up pair.
inline ojson linear_layers(int64_t K, int64_t odd_n = 37) {
  return ojson::array({
      {{"name", "model.layers.0.self_attn.q_proj"}, {"in_features", K}, {"out_features", 40}, {"bias", true}},
      {{"name", "model.layers.0.self_attn.k_proj"}, {"in_features", K}, {"out_features", 24}, {"bias", true}},
      {{"name", "model.layers.0.self_attn.v_proj"}, {"in_features", K}, {"out_features", 24}, {"bias", true}},
      {{"name", "model.layers.0.self_attn.o_proj"}, {"in_features", 2 * K}, {"out_features", odd_n}},
  });
}

inline ojson moe_layer(int64_t hidden, int64_t intermediate, int64_t experts) {
  return ojson::array(
      {{{"name", "model.layers.0.mlp.experts"}, {"num_experts", experts}, {"hidden_size", hidden},
        {"intermediate_size", intermediate}}});
}

// DESIGN §5's token counts in f32; bf16 and f16 on shorter lists.
inline std::vector<DeviceRun> remainder_runs() {
  return {{INCQ_DTYPE_F32, {1, 2, 3, 7, 16, 33}}, {INCQ_DTYPE_BF16, {1, 7}}, {INCQ_DTYPE_F16, {3, 16}}};
}

}  // namespace incq::xpu_test
