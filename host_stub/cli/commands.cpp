#include "commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/error.hpp"
#include "core/inspect.hpp"
#include "core/synth.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::cli {

using ojson = nlohmann::ordered_json;

int32_t parse_act_dtype(const std::string& s) {
  if (s == "f32" || s == "fp32" || s == "float32") return INCQ_DTYPE_F32;
  if (s == "bf16" || s == "bfloat16") return INCQ_DTYPE_BF16;
  if (s == "f16" || s == "fp16" || s == "float16") return INCQ_DTYPE_F16;
  throw host::Error(fmt::format("--act-dtype: unknown activation dtype '{}' (known: f32, bf16, f16)", s));
}

int cmd_plugins(host::Host& host, const Output& out) {
  auto& ps = host.plugins();
  ojson j;
  j["abi"] = fmt::format("{}.{}", INCQ_ABI_VERSION_MAJOR, INCQ_ABI_VERSION_MINOR);
  j["plugin_dirs"] = host.settings().plugin_dirs;
  j["plugins"] = ojson::array();
  for (const auto& p : ps.plugins()) {
    ojson e;
    e["name"] = p->name();
    e["path"] = p->path();
    e["version"] = p->version();
    e["abi"] = fmt::format("{}.{}", p->abi_major(), p->abi_minor());
    ojson avail;
    for (int32_t dev : {INCQ_DEVICE_CPU, INCQ_DEVICE_OPENCL}) {
      const auto& a = p->availability(dev);
      avail[host::device_type_name(dev)] = {{"usable", a.available}, {"detail", a.detail}};
    }
    e["availability"] = avail;
    e["implementations"] = ojson::array();
    for (const auto& impl : ps.registry().all())
      if (impl.plugin == p)
        e["implementations"].push_back({{"name", impl.name},
                                        {"capabilities", host::describe_capabilities(*impl.desc)},
                                        {"priority", impl.desc->priority},
                                        {"tolerance", impl.desc->tolerance}});
    j["plugins"].push_back(std::move(e));
  }
  j["failed"] = ojson::array();
  for (const auto& f : ps.failures()) j["failed"].push_back({{"path", f.path}, {"reason", f.reason}});
  j["skipped"] = ojson::array();
  for (const auto& s : ps.skipped()) j["skipped"].push_back({{"name", s.name}, {"path", s.path}, {"reason", s.reason}});
  if (out.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("incq plugin ABI {}\n", j["abi"].get<std::string>());
  for (const auto& p : j["plugins"]) {
    std::cout << fmt::format("{} {} (ABI {})  {}\n", p["name"].get<std::string>(), p["version"].get<std::string>(),
                             p["abi"].get<std::string>(), p["path"].get<std::string>());
    for (const auto& [dev, a] : p["availability"].items())
      std::cout << fmt::format("  {}: {} — {}\n", dev, a["usable"].get<bool>() ? "usable" : "NOT usable",
                               a["detail"].get<std::string>());
    for (const auto& i : p["implementations"])
      std::cout << fmt::format("  impl {}: {}\n", i["name"].get<std::string>(), i["capabilities"].get<std::string>());
  }
  for (const auto& f : j["failed"])
    std::cout << fmt::format("FAILED {}: {}\n", f["path"].get<std::string>(), f["reason"].get<std::string>());
  for (const auto& s : j["skipped"])
    std::cout << fmt::format("skipped {} ({}): {}\n", s["name"].get<std::string>(), s["path"].get<std::string>(),
                             s["reason"].get<std::string>());
  if (j["plugins"].empty()) std::cout << "no plugin loaded\n";
  return 0;
}

int cmd_inspect(host::Host& host, const std::string& model_dir, int32_t act_dtype, const Output& out) {
  const auto r = host::inspect_model(host, model_dir, act_dtype);
  if (out.json) std::cout << host::to_json(r).dump(2) << "\n";
  else std::cout << host::to_text(r);
  for (const auto& m : r.modules)
    if (!m.selection.error.empty()) return 1;
  return 0;
}

int cmd_verify(host::Host& host, const std::string& model_dir, const host::VerifyOptions& opts, const Output& out) {
  const auto r = host::verify_model(host, model_dir, opts);
  if (out.json) std::cout << host::to_json(r).dump(2) << "\n";
  else std::cout << host::to_text(r);
  return r.passed() ? 0 : 1;
}

namespace {
ojson quick_spec(const QuickSynth& q) {
  ojson spec;
  spec["seed"] = q.seed;
  spec["quantization_config"] = {{"quant_method", "auto-round"}, {"packing_format", q.packing_format},
                                 {"bits", q.bits}, {"group_size", q.group_size}, {"sym", !q.asym},
                                 {"data_type", "int"}};
  const int64_t H = q.hidden, I = q.intermediate;
  ojson layers = ojson::array();
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
    layers.push_back({{"name", fmt::format("model.layers.0.self_attn.{}", p)}, {"in_features", H},
                      {"out_features", H}, {"act_order", q.act_order}});
  if (q.experts > 0) {
    spec["num_experts_per_tok"] = q.top_k;
    layers.push_back({{"name", "model.layers.0.mlp.experts"}, {"num_experts", q.experts}, {"hidden_size", H},
                      {"intermediate_size", I}, {"act_order", q.act_order}});
  } else {
    layers.push_back({{"name", "model.layers.0.mlp.gate_proj"}, {"in_features", H}, {"out_features", I}, {"act_order", q.act_order}});
    layers.push_back({{"name", "model.layers.0.mlp.up_proj"}, {"in_features", H}, {"out_features", I}, {"act_order", q.act_order}});
    layers.push_back({{"name", "model.layers.0.mlp.down_proj"}, {"in_features", I}, {"out_features", H}, {"act_order", q.act_order}});
  }
  spec["layers"] = layers;
  return spec;
}
}  // namespace

int cmd_synth(const std::string& spec_file, const QuickSynth& quick, const std::string& out_dir, const Output& out) {
  ojson spec;
  std::string source = "command-line options";
  if (!spec_file.empty()) {
    std::ifstream in(spec_file);
    if (!in) throw host::Error(fmt::format("{}: cannot open synth spec", spec_file));
    try {
      spec = ojson::parse(in);
    } catch (const std::exception& e) {
      throw host::Error(fmt::format("{}: not valid JSON: {}", spec_file, e.what()));
    }
    source = spec_file;
  } else {
    spec = quick_spec(quick);
  }
  const auto s = host::synthesize_checkpoint(spec, out_dir, source);
  if (out.json)
    std::cout << ojson{{"out", out_dir}, {"quantized_layers", s.quantized_layers}, {"dense_layers", s.dense_layers},
                       {"bytes", s.bytes}}.dump(2)
              << "\n";
  else
    std::cout << fmt::format("wrote {}: {} quantized layers, {} dense, {} bytes of tensors\n", out_dir,
                             s.quantized_layers, s.dense_layers, s.bytes);
  return 0;
}

int cmd_demo(host::Host& host, const std::string& out_dir, const host::VerifyOptions& opts, const Output& out) {
  std::string root = out_dir;
  if (root.empty()) root = (std::filesystem::temp_directory_path() / "incq-demo").string();
  ojson report = ojson::array();
  bool ok = true;
  for (const auto& [name, spec] : host::demo_specs()) {
    const std::string dir = root + "/" + name;
    std::filesystem::remove_all(dir);
    const auto s = host::synthesize_checkpoint(spec, dir, "built-in demo '" + name + "'");
    const auto insp = host::inspect_model(host, dir, opts.act_dtype);
    const auto ver = host::verify_model(host, dir, opts);
    ok = ok && ver.passed();
    for (const auto& m : insp.modules) ok = ok && m.selection.error.empty();
    if (out.json) {
      report.push_back({{"checkpoint", name}, {"dir", dir}, {"quantized_layers", s.quantized_layers},
                        {"dense_layers", s.dense_layers}, {"inspect", host::to_json(insp)},
                        {"verify", host::to_json(ver)}});
    } else {
      std::cout << fmt::format("=== demo checkpoint '{}' ({} quantized layers, {} dense) in {}\n", name,
                               s.quantized_layers, s.dense_layers, dir);
      std::cout << host::to_text(insp) << host::to_text(ver) << "\n";
    }
  }
  if (out.json) std::cout << ojson{{"passed", ok}, {"checkpoints", report}}.dump(2) << "\n";
  else std::cout << (ok ? "demo: every layer passed\n" : "demo: FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace incq::cli
