// Runs one quantized Linear, or one MoE block, of a checkpoint through incq exactly as the host
// does (implementation selection, LoadedLayer::load with the checkpoint tensors, apply), and the
// host's double oracle beside it for the magnitudes the error bounds need.
#pragma once

#include <string>
#include <vector>

#include "core/host.hpp"
#include "core/model_plan.hpp"

namespace incq::autoround_test {

struct LayerRun {
  std::string implementation;
  std::vector<double> y;        // incq's output (f32 activations, f32 output)
  std::vector<double> y_exact;  // the host oracle (double)
  std::vector<double> mag;      // the oracle's magnitude per output element
  double tolerance = 0;         // the implementation's declared tolerance
};

// A Host that loads only the build tree's plugins.
host::Host& test_host();

// The projection of `plan` named `layer` (a Linear, or one expert projection of a MoE, run as the
// Linear AutoRound quantized it as); x is [M, K] row-major.
LayerRun run_linear(const host::st::Checkpoint& ckpt, const host::QuantConfig& config, const host::ModelPlan& plan,
                    const std::string& layer, const std::vector<double>& x, int64_t M);

// The MoE module `prefix` with the given routing; x is [T, H].
LayerRun run_moe(const host::st::Checkpoint& ckpt, const host::QuantConfig& config, const host::ModulePlan& moe,
                 const std::vector<double>& x, int64_t T, const std::vector<int32_t>& ids,
                 const std::vector<float>& weights, int top_k);

}  // namespace incq::autoround_test
