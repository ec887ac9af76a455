#include "core/verify.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "common/error.hpp"
#include "core/act_quant_override.hpp"
#include "core/fused_modules.hpp"
#include "core/inspect.hpp"
#include "core/loaded_layer.hpp"
#include "incq/plugin_helpers.hpp"
#include "core/oracle_layer.hpp"
#include "core/projection_tensors.hpp"
#include "opencl/device_path.hpp"
#include "opencl/fallback_note.hpp"

namespace incq::host {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Rounding one value to the output dtype errs by at most u * |y| (normal range) or half the
// subnormal spacing (below the normal range), whichever is larger.
struct OutputRounding {
  double relative;
  double absolute;
};

OutputRounding output_rounding(int32_t dtype) {
  switch (dtype) {
    case INCQ_DTYPE_BF16: return {std::ldexp(1.0, -8), std::ldexp(1.0, -134)};
    case INCQ_DTYPE_F16: return {std::ldexp(1.0, -11), std::ldexp(1.0, -25)};
    default: return {std::ldexp(1.0, -24), std::ldexp(1.0, -150)};
  }
}

// Activations in the requested dtype, plus the exact double values they hold.
struct Activations {
  std::vector<uint8_t> raw;
  std::vector<double> exact;
};

Activations make_activations(int64_t rows, int64_t cols, int32_t dtype, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Activations a;
  const size_t n = static_cast<size_t>(rows * cols);
  a.exact.resize(n);
  a.raw.resize(n * incq::dtype_size(dtype));
  for (size_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    if (dtype == INCQ_DTYPE_BF16) {
      const uint16_t b = incq::float_to_bf16(v);
      std::memcpy(&a.raw[i * 2], &b, 2);
      a.exact[i] = incq::bf16_to_float(b);
    } else if (dtype == INCQ_DTYPE_F16) {
      const uint16_t h = incq::float_to_half(v);
      std::memcpy(&a.raw[i * 2], &h, 2);
      a.exact[i] = incq::half_to_float(h);
    } else {
      std::memcpy(&a.raw[i * 4], &v, 4);
      a.exact[i] = v;
    }
  }
  return a;
}

std::vector<double> read_output(const std::vector<uint8_t>& raw, int32_t dtype) {
  const size_t n = raw.size() / incq::dtype_size(dtype);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, &raw[i * 4], 4);
      out[i] = f;
    } else {
      uint16_t h;
      std::memcpy(&h, &raw[i * 2], 2);
      out[i] = dtype == INCQ_DTYPE_BF16 ? incq::bf16_to_float(h) : incq::half_to_float(h);
    }
  }
  return out;
}

// Compares y with the oracle; fills the run's error figures.
bool compare(const std::vector<double>& y, const std::vector<double>& yo, const std::vector<double>& mag, double tol,
             OutputRounding out, VerifyRun& run) {
  double se = 0, sr = 0;
  bool ok = true;
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(y[i] - yo[i]);
    const double bound = tol * mag[i] + std::max(out.relative * std::fabs(yo[i]), out.absolute);
    if (!(err <= bound)) ok = false;  // NaN fails too
    run.max_abs_err = std::max(run.max_abs_err, err);
    run.max_err_over_bound = std::max(run.max_err_over_bound, std::isnan(err) ? INFINITY : err / bound);
    se += err * err;
    sr += yo[i] * yo[i];
  }
  run.nmse = sr > 0 ? se / sr : se;
  return ok;
}

// Selection on the host's device; on an OpenCL device, a layer no OpenCL implementation can serve
// falls back to the CPU (host memory), visibly: the implementation is reported with the reason.
Selection select_with_fallback(Host& host, const opencl::DevicePath& ocl, const incq_layer_desc& desc,
                               const SelectionPolicy& policy, incq_device& device, std::string& note) {
  device = ocl.attach(host.device());
  Selection sel = try_select_implementation(host.plugins().registry(), desc, device, policy);
  if (sel.chosen != nullptr || device.type != INCQ_DEVICE_OPENCL) {
    if (sel.chosen == nullptr) throw Error(sel.error);
    return sel;
  }
  note = " (" + opencl::fallback_note(sel) + ")";
  device = opencl::DevicePath::cpu_device();
  return select_implementation(host.plugins().registry(), desc, device, policy);
}

void verify_module(Host& host, const opencl::DevicePath& ocl, st::Checkpoint& ckpt, const ModulePlan& m,
                   const SelectionPolicy& policy, const VerifyOptions& o, ModuleVerification& mv) {
  incq_layer_desc desc = layer_desc_for(m, o.act_dtype);
  if (m.kind == INCQ_MODULE_MOE && o.top_k > 0) desc.top_k = static_cast<int32_t>(std::min<int64_t>(o.top_k, m.num_experts));
  const int top_k = desc.top_k;
  incq_device device{};
  std::string fallback;
  const Selection sel = select_with_fallback(host, ocl, desc, policy, device, fallback);
  mv.implementation = sel.chosen->name + fallback;
  mv.tolerance = sel.chosen->desc->tolerance;

  // The oracle reads (and validates) the checkpoint first, before the plugin sees anything.
  std::vector<OracleProjection> oracle;
  for (const auto& p : m.projections) oracle.push_back(read_oracle_projection(ckpt, p, m.scheme));
  const incq_scheme& scheme = desc.scheme;

  std::vector<BundleTensor> bundle;
  for (size_t i = 0; i < m.projections.size(); ++i) {
    const auto& p = m.projections[i];
    const std::string prefix =
        m.kind == INCQ_MODULE_MOE ? fmt::format("{}.{}.", i / 3, p.name.substr(p.name.rfind('.') + 1)) : "";
    for (const auto& [role, tname] : p.tensors) bundle.push_back({prefix + role, projection_tensor(ckpt, p, role)});
  }
  const auto t0 = Clock::now();
  auto layer = LoadedLayer::load(*sel.chosen, desc, device, bundle, m.scheme.scheme.packing,
                                 options_for_layer(policy.layer_options, m.name));
  mv.load_ms = ms_since(t0);
  // The plugin holds its own copy now: give the checkpoint pages back (DESIGN §2 step 4).
  // A stacked tensor is named by every expert; releasing it again is harmless.
  for (const auto& p : m.projections)
    for (const auto& [role, tname] : p.tensors) ckpt.release(tname);
  mv.resident_bytes = layer->resident_bytes();
  if (mv.resident_bytes > static_cast<int64_t>(1.05 * static_cast<double>(m.packed_bytes)))
    throw Error(fmt::format("layer '{}': resident weight memory {} bytes exceeds 1.05 x the packed checkpoint bytes {}",
                            m.name, mv.resident_bytes, m.packed_bytes));

  std::mt19937_64 rng(o.seed ^ std::hash<std::string>{}(m.name));
  const OutputRounding rounding = output_rounding(o.act_dtype);
  const incq_exec exec = host.pool().exec();
  bool all_ok = true;
  for (const int64_t T : o.tokens) {
    VerifyRun run;
    run.tokens = T;
    const int64_t K = desc.in_features, N = desc.out_features;
    Activations x = make_activations(T, K, o.act_dtype, rng);
    std::vector<double> yo(static_cast<size_t>(T * N)), mag(static_cast<size_t>(T * N));
    std::vector<uint8_t> yraw(static_cast<size_t>(T * N) * incq::dtype_size(o.act_dtype));
    incq_tensor xt = cpu_tensor(x.raw.data(), o.act_dtype, {T, K});
    incq_tensor yt = cpu_tensor(yraw.data(), o.act_dtype, {T, N});
    if (m.kind == INCQ_MODULE_LINEAR) {
      oracle_linear_output(scheme, oracle[0], x.exact.data(), T, K, N, yo.data(), mag.data());
      const auto t1 = Clock::now();
      ocl.apply_linear(device, xt, yt, [&](const incq_tensor& x_, incq_tensor& y_) { layer->apply_linear(x_, y_, exec); });
      run.apply_ms = ms_since(t1);
    } else {
      // Routing as a host would: random experts per token (repeats allowed, so a token may pick
      // one expert twice and some experts may get no token), positive weights summing to 1.
      std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(m.num_experts - 1));
      std::uniform_real_distribution<float> wdist(0.05f, 1.0f);
      std::vector<int32_t> ids(static_cast<size_t>(T * top_k));
      std::vector<float> wts(ids.size());
      for (int64_t t = 0; t < T; ++t) {
        float sum = 0;
        for (int j = 0; j < top_k; ++j) {
          ids[static_cast<size_t>(t * top_k + j)] = pick(rng);
          sum += wts[static_cast<size_t>(t * top_k + j)] = wdist(rng);
        }
        for (int j = 0; j < top_k; ++j) wts[static_cast<size_t>(t * top_k + j)] /= sum;
      }
      oracle_moe_output(scheme, oracle, x.exact.data(), T, m.hidden_size, m.intermediate_size, ids.data(), wts.data(),
                        top_k, yo.data(), mag.data());
      incq_tensor idt = cpu_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
      incq_tensor wt = cpu_tensor(wts.data(), INCQ_DTYPE_F32, {T, top_k});
      const auto t1 = Clock::now();
      ocl.apply_moe(device, xt, idt, wt, yt,
                    [&](const incq_tensor& x_, const incq_tensor& i_, const incq_tensor& w_, incq_tensor& y_) {
                      layer->apply_moe(x_, i_, w_, y_, exec);
                    });
      run.apply_ms = ms_since(t1);
    }
    const std::vector<double> y = read_output(yraw, o.act_dtype);
    all_ok = compare(y, yo, mag, mv.tolerance, rounding, run) && all_ok;
    mv.runs.push_back(run);
  }
  mv.passed = all_ok;
  if (!all_ok) mv.error = "output outside the error bound";
}


// The fused module a Linear belongs to ("<parent>.qkv_proj" for q/k/v, "<parent>.gate_up_proj" for
// gate/up) and its position in it, or "" when it is not part of one.
std::pair<std::string, int> fused_home(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return {"", 0};
  const std::string parent = name.substr(0, dot), leaf = name.substr(dot + 1);
  if (parent.find(".experts.") != std::string::npos) return {"", 0};
  if (leaf == "q_proj") return {parent + ".qkv_proj", 0};
  if (leaf == "k_proj") return {parent + ".qkv_proj", 1};
  if (leaf == "v_proj") return {parent + ".qkv_proj", 2};
  if (leaf == "gate_proj") return {parent + ".gate_up_proj", 0};
  if (leaf == "up_proj") return {parent + ".gate_up_proj", 1};
  return {"", 0};
}

// Runs a fused module as the host would serve it — one layer where the parts' schemes allow
// merging, one layer per part where they are mixed — and compares with the concatenation of the
// parts' oracle outputs.
void verify_fused(Host& host, const opencl::DevicePath& ocl, const st::Checkpoint& ckpt, const std::string& name,
                  const std::vector<const ModulePlan*>& parts, const SelectionPolicy& policy, const VerifyOptions& o,
                  ModuleVerification& mv) {
  std::vector<ProjectionTensors> projections;
  std::vector<ProjectionWeights> weights;
  std::vector<LayerScheme> schemes;
  std::vector<OracleProjection> oracle;
  for (const ModulePlan* m : parts) {
    projections.push_back(m->projections[0]);
    weights.push_back(projection_weights(ckpt, m->projections[0]));
    schemes.push_back(m->scheme);
    oracle.push_back(read_oracle_projection(ckpt, m->projections[0], m->scheme));
    mv.packed_bytes += m->packed_bytes;
  }
  const FusedPlan plan = plan_fused(name, ckpt, projections, schemes);
  const auto t0 = Clock::now();
  incq_device device = ocl.attach(host.device());
  std::string fallback;
  std::unique_ptr<FusedLinear> fused;
  try {
    fused = FusedLinear::load(host.plugins().registry(), device, policy, plan, weights, schemes, o.act_dtype);
  } catch (const Error& e) {
    if (device.type != INCQ_DEVICE_OPENCL) throw;
    // As for single layers: parts no OpenCL implementation can serve run on the CPU, reported.
    const std::string what = e.what();
    fallback = " (fallback to cpu with host staging: " + what.substr(0, what.find('\n')) + ")";
    device = opencl::DevicePath::cpu_device();
    fused = FusedLinear::load(host.plugins().registry(), device, policy, plan, weights, schemes, o.act_dtype);
  }
  mv.load_ms = ms_since(t0);
  std::string impls;
  mv.resident_bytes = 0;
  for (const auto& l : fused->layers()) {
    impls += (impls.empty() ? "" : " + ") + l.layer->impl_name();
    mv.tolerance = std::max(mv.tolerance, l.layer->tolerance());
    const int64_t r = l.layer->resident_bytes();
    mv.resident_bytes = (r < 0 || mv.resident_bytes < 0) ? -1 : mv.resident_bytes + r;
  }
  mv.implementation = impls + fallback;
  mv.scheme = fmt::format("{} layer(s) for {} part(s)", fused->layers().size(), parts.size());
  if (!plan.split_reasons.empty()) mv.scheme += ": " + plan.split_reasons.front();

  std::mt19937_64 rng(o.seed ^ std::hash<std::string>{}(name));
  const OutputRounding rounding = output_rounding(o.act_dtype);
  const incq_exec exec = host.pool().exec();
  const int64_t K = plan.in_features, N = plan.out_features();
  bool all_ok = true;
  for (const int64_t T : o.tokens) {
    VerifyRun run;
    run.tokens = T;
    Activations x = make_activations(T, K, o.act_dtype, rng);
    std::vector<double> yo(static_cast<size_t>(T * N)), mag(yo.size());
    int64_t col = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const int64_t n = plan.part_out_features[i];
      std::vector<double> yp(static_cast<size_t>(T * n)), mp(yp.size());
      oracle_linear_output(schemes[i].scheme, oracle[i], x.exact.data(), T, K, n, yp.data(), mp.data());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < n; ++j) {
          yo[static_cast<size_t>(t * N + col + j)] = yp[static_cast<size_t>(t * n + j)];
          mag[static_cast<size_t>(t * N + col + j)] = mp[static_cast<size_t>(t * n + j)];
        }
      col += n;
    }
    std::vector<uint8_t> yraw(static_cast<size_t>(T * N) * incq::dtype_size(o.act_dtype));
    incq_tensor xt = cpu_tensor(x.raw.data(), o.act_dtype, {T, K});
    incq_tensor yt = cpu_tensor(yraw.data(), o.act_dtype, {T, N});
    const auto t1 = Clock::now();
    // One merged layer on the device gets device tensors; parts run through FusedLinear on host
    // tensors (an OpenCL part stages them itself).
    if (fused->layers().size() == 1)
      ocl.apply_linear(device, xt, yt, [&](const incq_tensor& x_, incq_tensor& y_) { fused->layers()[0].layer->apply_linear(x_, y_, exec); });
    else
      fused->apply(xt, yt, exec);
    run.apply_ms = ms_since(t1);
    all_ok = compare(read_output(yraw, o.act_dtype), yo, mag, mv.tolerance, rounding, run) && all_ok;
    mv.runs.push_back(run);
  }
  mv.passed = all_ok;
  if (!all_ok) mv.error = "output outside the error bound";
}

}  // namespace

bool ModelVerification::passed() const {
  if (modules.empty()) return false;
  for (const auto& m : modules)
    if (!m.passed) return false;
  return true;
}

ModelVerification verify_model(Host& host, const std::string& model_dir, const VerifyOptions& options) {
  ModelVerification r;
  r.model_dir = model_dir;
  const QuantConfig config = QuantConfig::from_model_dir(model_dir);
  auto ckpt = st::Checkpoint::open(model_dir);
  ModelPlan plan = plan_model(*ckpt, config);
  apply_act_quant_rules(plan, host.settings().act_quant);
  const SelectionPolicy policy = policy_for_model(host, config);
  const auto xpu_options = host.settings().plugin_options.find("inc_xpu");
  const opencl::DevicePath ocl(host.device().type,
                               xpu_options != host.settings().plugin_options.end() ? &xpu_options->second : nullptr);
  for (const auto& m : plan.modules) {
    ModuleVerification mv;
    mv.name = m.name;
    mv.kind = module_kind_name(m.kind);
    mv.scheme = m.scheme.describe();
    mv.packed_bytes = m.packed_bytes;
    try {
      verify_module(host, ocl, *ckpt, m, policy, options, mv);
    } catch (const std::exception& e) {
      mv.passed = false;
      mv.error = e.what();
    }
    r.modules.push_back(std::move(mv));
  }
  // Fused modules (q/k/v, gate/up), each part in its place.
  std::map<std::string, std::vector<const ModulePlan*>> fused;
  for (const auto& m : plan.modules) {
    if (m.kind != INCQ_MODULE_LINEAR) continue;
    auto [name, pos] = fused_home(m.name);
    if (name.empty()) continue;
    auto& slots = fused[name];
    if (slots.size() <= static_cast<size_t>(pos)) slots.resize(static_cast<size_t>(pos) + 1, nullptr);
    slots[static_cast<size_t>(pos)] = &m;
  }
  for (auto& [name, slots] : fused) {
    std::vector<const ModulePlan*> parts;
    for (const ModulePlan* m : slots)
      if (m != nullptr) parts.push_back(m);
    if (parts.size() < 2) continue;
    ModuleVerification mv;
    mv.name = name;
    mv.kind = "fused";
    mv.packed_bytes = 0;
    try {
      verify_fused(host, ocl, *ckpt, name, parts, policy, options, mv);
    } catch (const std::exception& e) {
      mv.passed = false;
      mv.error = e.what();
    }
    r.modules.push_back(std::move(mv));
  }
  return r;
}

nlohmann::ordered_json to_json(const ModelVerification& r) {
  nlohmann::ordered_json j;
  j["model_dir"] = r.model_dir;
  j["passed"] = r.passed();
  j["modules"] = nlohmann::ordered_json::array();
  for (const auto& m : r.modules) {
    nlohmann::ordered_json e;
    e["name"] = m.name;
    e["kind"] = m.kind;
    e["scheme"] = m.scheme;
    e["implementation"] = m.implementation;
    e["tolerance"] = m.tolerance;
    e["packed_bytes"] = m.packed_bytes;
    e["resident_bytes"] = m.resident_bytes;
    e["load_ms"] = m.load_ms;
    e["passed"] = m.passed;
    if (!m.error.empty()) e["error"] = m.error;
    e["runs"] = nlohmann::ordered_json::array();
    for (const auto& run : m.runs)
      e["runs"].push_back({{"tokens", run.tokens},
                           {"max_abs_err", run.max_abs_err},
                           {"max_err_over_bound", run.max_err_over_bound},
                           {"nmse", run.nmse},
                           {"apply_ms", run.apply_ms}});
    j["modules"].push_back(std::move(e));
  }
  return j;
}

std::string to_text(const ModelVerification& r) {
  std::string out = fmt::format("verify {}\n", r.model_dir);
  for (const auto& m : r.modules) {
    out += fmt::format("{} {} [{}] {}  via {}\n", m.passed ? "PASS" : "FAIL", m.name, m.kind, m.scheme,
                       m.implementation.empty() ? "-" : m.implementation);
    for (const auto& run : m.runs)
      out += fmt::format("    tokens={:<4} max_abs_err={:.3e} err/bound={:.3f} nmse={:.3e} apply={:.3f} ms\n",
                         run.tokens, run.max_abs_err, run.max_err_over_bound, run.nmse, run.apply_ms);
    if (m.resident_bytes >= 0)
      out += fmt::format("    resident {} B / packed {} B (x{:.3f})\n", m.resident_bytes, m.packed_bytes,
                         static_cast<double>(m.resident_bytes) / static_cast<double>(std::max<uint64_t>(1, m.packed_bytes)));
    if (!m.error.empty()) out += fmt::format("    error: {}\n", m.error);
  }
  size_t passed = 0;
  for (const auto& m : r.modules) passed += m.passed ? 1 : 0;
  out += fmt::format("{} of {} modules passed\n", passed, r.modules.size());
  return out;
}

}  // namespace incq::host
