#include "incq_runner.hpp"

#include <cstring>
#include <stdexcept>

#include "core/inspect.hpp"
#include "core/loaded_layer.hpp"
#include "core/oracle_layer.hpp"
#include "core/projection_tensors.hpp"
#include "core/selection.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::autoround_test {

using namespace incq::host;

Host& test_host() {
  static Host* host = [] {
    HostSettings settings;
    settings.plugin_dirs = {INCQ_TEST_PLUGIN_DIR};
    settings.threads = 1;
    return new Host(settings);
  }();
  return *host;
}

namespace {

std::vector<float> to_f32(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

struct Loaded {
  std::unique_ptr<LoadedLayer> layer;
  const Implementation* impl = nullptr;
};

Loaded load(const st::Checkpoint& ckpt, const QuantConfig& config, const ModulePlan& m) {
  Host& host = test_host();
  const incq_device device = host.device();
  const incq_layer_desc desc = layer_desc_for(m, INCQ_DTYPE_F32);
  const Selection sel = select_implementation(host.plugins().registry(), desc, device, policy_for_model(host, config));
  std::vector<BundleTensor> bundle;
  for (size_t i = 0; i < m.projections.size(); ++i) {
    const auto& p = m.projections[i];
    // MoE bundles name each tensor "<e>.<proj>.<role>", as the host's verify does.
    const std::string prefix = m.kind == INCQ_MODULE_MOE ? std::to_string(i / 3) + "." + p.name.substr(p.name.rfind('.') + 1) + "." : "";
    for (const auto& [role, tname] : p.tensors) bundle.push_back({prefix + role, projection_tensor(ckpt, p, role)});
  }
  return {LoadedLayer::load(*sel.chosen, desc, device, bundle, m.scheme.scheme.packing), sel.chosen};
}

}  // namespace

LayerRun run_linear(const st::Checkpoint& ckpt, const QuantConfig& config, const ModelPlan& plan,
                    const std::string& layer, const std::vector<double>& x, int64_t M) {
  ModulePlan linear;
  for (const auto& m : plan.modules)
    for (const auto& p : m.projections)
      if (p.name == layer) {
        linear.kind = INCQ_MODULE_LINEAR;
        linear.name = p.name;
        linear.scheme = m.scheme;
        linear.projections = {p};
        linear.has_bias = p.tensors.count("bias") > 0;
        linear.has_g_idx = p.tensors.count("g_idx") > 0;
      }
  if (linear.projections.empty()) throw std::runtime_error(layer + ": not a quantized module of the plan");
  const ProjectionTensors& p = linear.projections[0];
  const int64_t K = p.in_features, N = p.out_features;
  if (static_cast<int64_t>(x.size()) != M * K) throw std::runtime_error(layer + ": input is not [M, K]");

  LayerRun r;
  // The host's oracle for the layer's scheme, activation quantization included (docs/formats.md).
  const OracleProjection w = read_oracle_projection(ckpt, p, linear.scheme);
  r.y_exact.resize(static_cast<size_t>(M * N));
  r.mag.resize(r.y_exact.size());
  oracle_linear_output(linear.scheme.scheme, w, x.data(), M, K, N, r.y_exact.data(), r.mag.data());

  Loaded l = load(ckpt, config, linear);
  r.implementation = l.impl->name;
  r.tolerance = l.impl->desc->tolerance;
  std::vector<float> xf = to_f32(x), yf(static_cast<size_t>(M * N));
  incq_tensor xt = cpu_tensor(xf.data(), INCQ_DTYPE_F32, {M, K});
  incq_tensor yt = cpu_tensor(yf.data(), INCQ_DTYPE_F32, {M, N});
  l.layer->apply_linear(xt, yt, test_host().pool().exec());
  r.y.assign(yf.begin(), yf.end());
  return r;
}

LayerRun run_moe(const st::Checkpoint& ckpt, const QuantConfig& config, const ModulePlan& moe,
                 const std::vector<double>& x, int64_t T, const std::vector<int32_t>& ids,
                 const std::vector<float>& weights, int top_k) {
  const int64_t H = moe.hidden_size, I = moe.intermediate_size;
  LayerRun r;
  std::vector<OracleProjection> oracle;
  for (const auto& p : moe.projections) oracle.push_back(read_oracle_projection(ckpt, p, moe.scheme));
  r.y_exact.resize(static_cast<size_t>(T * H));
  r.mag.resize(r.y_exact.size());
  oracle_moe_output(moe.scheme.scheme, oracle, x.data(), T, H, I, ids.data(), weights.data(), top_k, r.y_exact.data(),
                    r.mag.data());

  ModulePlan m = moe;
  m.top_k = top_k;
  Loaded l = load(ckpt, config, m);
  r.implementation = l.impl->name;
  r.tolerance = l.impl->desc->tolerance;
  std::vector<float> xf = to_f32(x), yf(static_cast<size_t>(T * H));
  std::vector<int32_t> idv = ids;
  std::vector<float> wv = weights;
  incq_tensor xt = cpu_tensor(xf.data(), INCQ_DTYPE_F32, {T, H});
  incq_tensor yt = cpu_tensor(yf.data(), INCQ_DTYPE_F32, {T, H});
  incq_tensor it = cpu_tensor(idv.data(), INCQ_DTYPE_I32, {T, top_k});
  incq_tensor wt = cpu_tensor(wv.data(), INCQ_DTYPE_F32, {T, top_k});
  l.layer->apply_moe(xt, it, wt, yt, test_host().pool().exec());
  r.y.assign(yf.begin(), yf.end());
  return r;
}

}  // namespace incq::autoround_test
