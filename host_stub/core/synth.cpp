#include "core/synth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>

#include "common/error.hpp"
#include "config/quant_config.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_order.hpp"
#include "quant/fp8_weights.hpp"
#include "quant/mx_weights.hpp"
#include "quant/nv_weights.hpp"
#include "quant/pack.hpp"
#include "quant/rtn.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host {

namespace {

using ojson = nlohmann::ordered_json;

int64_t positive_int(const ojson& layer, const char* key, const std::string& where) {
  if (!layer.contains(key) || !layer[key].is_number_integer() || layer[key].get<int64_t>() <= 0)
    throw Error(fmt::format("{}: '{}' must be a positive integer", where, key));
  return layer[key].get<int64_t>();
}

bool flag(const ojson& layer, const char* key, const std::string& where) {
  if (!layer.contains(key)) return false;
  if (!layer[key].is_boolean()) throw Error(fmt::format("{}: '{}' must be true or false", where, key));
  return layer[key].get<bool>();
}

// Dense weights in HF orientation [out][in], from the given file or seeded random numbers. Random
// weights vary in scale per output row, and every 7th row is mixed sign-skewed, so both signs of
// the symmetric scale and asymmetric zeros all occur.
// Given fp32 weights: a safetensors file, or a checkpoint directory.
struct GivenWeights {
  std::unique_ptr<st::SafetensorsFile> file;
  std::unique_ptr<st::Checkpoint> dir;
  std::string path;
  const st::TensorView* find(const std::string& n) const { return file ? file->find(n) : dir->find(n); }
};

std::vector<float> dense_weights(const std::string& name, int64_t out, int64_t in, const GivenWeights* given,
                                 std::mt19937_64& rng) {
  std::vector<float> w(static_cast<size_t>(out * in));
  if (given != nullptr) {
    const std::string tname = name + ".weight";
    const st::TensorView* t = given->find(tname);
    if (t == nullptr) throw Error(fmt::format("{}: no tensor '{}' for layer '{}'", given->path, tname, name));
    if (t->dtype != INCQ_DTYPE_F32 || t->shape != std::vector<int64_t>{out, in})
      throw Error(fmt::format("{}: tensor '{}' must be F32 [{}, {}] (out, in)", t->file, tname, out, in));
    std::memcpy(w.data(), t->data, w.size() * sizeof(float));
    return w;
  }
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> row_scale(0.005f, 0.05f);
  for (int64_t o = 0; o < out; ++o) {
    const float s = row_scale(rng);
    const float skew = (o % 7 == 3) ? 0.5f : (o % 7 == 5 ? -0.5f : 0.0f);
    for (int64_t i = 0; i < in; ++i) w[static_cast<size_t>(o * in + i)] = s * (normal(rng) + skew);
  }
  return w;
}

st::TensorToWrite to_write(const std::string& name, const quant::PackedTensor& p) {
  return st::TensorToWrite{name, p.dtype, p.shape, p.bytes};
}

st::TensorToWrite f16_tensor(const std::string& name, const std::vector<float>& v, std::vector<int64_t> shape) {
  st::TensorToWrite t{name, INCQ_DTYPE_F16, std::move(shape), std::vector<uint8_t>(v.size() * 2)};
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = incq::float_to_half(v[i]);
    std::memcpy(&t.bytes[i * 2], &h, 2);
  }
  return t;
}

struct Writer {
  const QuantConfig& config;
  const GivenWeights* given;
  std::mt19937_64& rng;
  std::vector<st::TensorToWrite>& out;
  SynthSummary& summary;

  // FP8 / MX / NV: AutoRound's round-to-nearest for the family (host_stub/quant, docs/formats.md §4).
  void float_layer(const std::string& name, const std::vector<float>& w_nk, int64_t N, int64_t K, const LayerScheme& s) {
    std::vector<quant::PackedTensor> packed;
    try {
      switch (s.scheme.family) {
        case INCQ_FAMILY_FP8: packed = quant::quantize_fp8(w_nk.data(), N, K, s.scheme); break;
        case INCQ_FAMILY_MX_FP:
        case INCQ_FAMILY_MX_INT: packed = quant::quantize_mx(w_nk.data(), N, K, s.scheme); break;
        case INCQ_FAMILY_NV_FP:
          // AutoRound calibrates the input global scale as 2688 / max|x|; synth's activations are
          // uniform in [-1, 1], so max|x| = 1.
          packed = quant::quantize_nvfp4(w_nk.data(), N, K, s.scheme, 2688.0f);
          break;
        default:
          throw Error(fmt::format("synth has no writer for {}", s.describe()));
      }
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}' ({}): {}", name, s.describe(), e.what()));
    }
    for (const auto& p : packed) out.push_back(to_write(name + "." + p.name, p));
    ++summary.quantized_layers;
  }

  void linear(const std::string& name, int64_t in, int64_t out_f, bool bias, bool g_idx, bool act_order) {
    const std::vector<float> w = dense_weights(name, out_f, in, given, rng);
    const LayerScheme s = config.resolve(name);
    if (bias) {
      std::uniform_real_distribution<float> b(-0.1f, 0.1f);
      std::vector<float> bv(static_cast<size_t>(out_f));
      for (auto& v : bv) v = b(rng);
      out.push_back(f16_tensor(name + ".bias", bv, {out_f}));
    }
    if (!s.quantized) {
      out.push_back(f16_tensor(name + ".weight", w, {out_f, in}));
      ++summary.dense_layers;
      return;
    }
    if (s.scheme.family != INCQ_FAMILY_INT) {
      float_layer(name, w, out_f, in, s);
      return;
    }
    // x·W orientation for the quantizer: W[k][n] = w[n][k].
    std::vector<float> w_kn(w.size());
    for (int64_t n = 0; n < out_f; ++n)
      for (int64_t k = 0; k < in; ++k) w_kn[static_cast<size_t>(k * out_f + n)] = w[static_cast<size_t>(n * in + k)];
    std::vector<int32_t> gi;
    if (act_order) gi = quant::make_act_order_g_idx(in, s.scheme.group_size, rng());
    quant::IntWeights q =
        quant::quantize_rtn(w_kn.data(), in, out_f, s.scheme.bits, s.scheme.group_size, s.scheme.sym != 0, gi);
    if (s.scheme.packing == INCQ_PACKING_GPTQ_V1 && !s.scheme.sym) quant::fit_gptq_v1_zero_range(q, w_kn.data());
    try {
      for (const auto& p : quant::pack_int(q, static_cast<incq_packing>(s.scheme.packing), g_idx || act_order))
        out.push_back(to_write(name + "." + p.name, p));
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}' ({}): {}", name, s.describe(), e.what()));
    }
    ++summary.quantized_layers;
  }
};

// Replaces the per-expert tensors "<name>.<e>.<proj>.<role>" written from `first` on with
// "<name>.<proj>.<role>" [E, <per-expert shape>] (vLLM FusedMoE's layout): expert e's tensor is the
// e-th contiguous slice. A per-expert [1] scalar stacks as [E], the shape vLLM gives those.
void stack_experts(std::vector<st::TensorToWrite>& tensors, size_t first, const std::string& name, int64_t E) {
  static const std::regex re(R"(^(.*)\.(\d+)\.(gate_proj|up_proj|down_proj)\.([A-Za-z_]+)$)");
  std::map<std::string, st::TensorToWrite> stacked;  // stacked name -> tensor being built
  std::map<std::string, int64_t> count;
  for (size_t i = first; i < tensors.size(); ++i) {
    const st::TensorToWrite& t = tensors[i];
    std::smatch m;
    if (!std::regex_match(t.name, m, re) || m.str(1) != name || std::stoll(m.str(2)) != count[m.str(3) + "." + m.str(4)])
      throw Error(fmt::format("synth: MoE '{}': cannot stack tensor '{}' (expected experts in order)", name, t.name));
    const std::string key = m.str(3) + "." + m.str(4);
    ++count[key];
    auto [it, fresh] = stacked.try_emplace(key);
    st::TensorToWrite& s = it->second;
    if (fresh) {
      s.name = name + "." + key;
      s.dtype = t.dtype;
      s.shape = t.shape;
      if (t.shape == std::vector<int64_t>{1}) s.shape = {E};
      else s.shape.insert(s.shape.begin(), E);
      s.bytes.reserve(t.bytes.size() * static_cast<size_t>(E));
    }
    s.bytes.insert(s.bytes.end(), t.bytes.begin(), t.bytes.end());
  }
  tensors.resize(first);
  for (auto& [key, t] : stacked) {
    if (count[key] != E) throw Error(fmt::format("synth: MoE '{}': {} experts of '{}', expected {}", name, count[key], key, E));
    tensors.push_back(std::move(t));
  }
}

}  // namespace

SynthSummary synthesize_checkpoint(const ojson& spec, const std::string& out_dir, const std::string& src) {
  if (!spec.is_object()) throw Error(fmt::format("{}: the synth spec must be a JSON object", src));
  for (const auto& [key, value] : spec.items()) {
    if (key != "seed" && key != "quantization_config" && key != "layers" && key != "weights" &&
        key != "num_experts_per_tok")
      throw Error(fmt::format("{}: unknown key '{}' (known: seed, quantization_config, layers, weights, "
                              "num_experts_per_tok)", src, key));
  }
  if (!spec.contains("quantization_config") || !spec["quantization_config"].is_object())
    throw Error(fmt::format("{}: 'quantization_config' (object) is required", src));
  if (!spec.contains("layers") || !spec["layers"].is_array() || spec["layers"].empty())
    throw Error(fmt::format("{}: 'layers' must be a non-empty list", src));
  ojson qc = spec["quantization_config"];
  if (!qc.contains("quant_method")) qc["quant_method"] = "auto-round";
  const QuantConfig config = QuantConfig::from_json(qc, src + " quantization_config");
  uint64_t seed = 0;
  if (spec.contains("seed")) {
    if (!spec["seed"].is_number_unsigned()) throw Error(fmt::format("{}: 'seed' must be a non-negative integer", src));
    seed = spec["seed"].get<uint64_t>();
  }
  std::unique_ptr<GivenWeights> given;
  if (spec.contains("weights")) {
    if (!spec["weights"].is_string()) throw Error(fmt::format("{}: 'weights' must be a path", src));
    given = std::make_unique<GivenWeights>();
    given->path = spec["weights"].get<std::string>();
    if (std::filesystem::is_directory(given->path)) given->dir = st::Checkpoint::open(given->path);
    else given->file = st::SafetensorsFile::open(given->path);
  }

  std::mt19937_64 rng(seed);
  std::vector<st::TensorToWrite> tensors;
  SynthSummary summary;
  Writer w{config, given.get(), rng, tensors, summary};
  std::vector<std::string> names;
  for (size_t i = 0; i < spec["layers"].size(); ++i) {
    const ojson& layer = spec["layers"][i];
    const std::string where = fmt::format("{}: layers[{}]", src, i);
    if (!layer.is_object() || !layer.contains("name") || !layer["name"].is_string())
      throw Error(fmt::format("{}: each layer needs a string 'name'", where));
    const std::string name = layer["name"].get<std::string>();
    for (const auto& [key, value] : layer.items()) {
      static const char* known[] = {"name", "in_features", "out_features", "bias", "g_idx", "act_order",
                                    "num_experts", "hidden_size", "intermediate_size", "stacked"};
      if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) == std::end(known))
        throw Error(fmt::format("{} ('{}'): unknown key '{}'", where, name, key));
    }
    const bool g_idx = flag(layer, "g_idx", where), act_order = flag(layer, "act_order", where);
    if (layer.contains("num_experts")) {
      const int64_t E = positive_int(layer, "num_experts", where), H = positive_int(layer, "hidden_size", where),
                    I = positive_int(layer, "intermediate_size", where);
      const size_t first = tensors.size();
      for (int64_t e = 0; e < E; ++e) {
        const std::string base = fmt::format("{}.{}.", name, e);
        w.linear(base + "gate_proj", H, I, false, g_idx, act_order);
        w.linear(base + "up_proj", H, I, false, g_idx, act_order);
        w.linear(base + "down_proj", I, H, false, g_idx, act_order);
        for (const char* p : {"gate_proj", "up_proj", "down_proj"}) names.push_back(base + p);
      }
      // Written per expert first, with the same random draws, so a stacked and a per-expert
      // checkpoint from one seed hold the same experts bit for bit.
      if (flag(layer, "stacked", where)) stack_experts(tensors, first, name, E);
    } else {
      w.linear(name, positive_int(layer, "in_features", where), positive_int(layer, "out_features", where),
               flag(layer, "bias", where), g_idx, act_order);
      names.push_back(name);
    }
  }
  // Experts of one MoE must share a scheme; q/k/v and gate/up may mix (the host runs them as parts).
  std::vector<std::string> expert_names;
  for (const auto& n : names)
    if (n.find(".experts.") != std::string::npos) expert_names.push_back(n);
  config.check_fused(expert_names);

  std::filesystem::create_directories(out_dir);
  for (const auto& t : tensors) summary.bytes += t.bytes.size();
  st::write_checkpoint(out_dir, tensors, uint64_t{64} << 20);
  ojson cfg;
  cfg["architectures"] = ojson::array({"IncqSynthForTesting"});
  cfg["model_type"] = "incq_synth";
  if (spec.contains("num_experts_per_tok")) cfg["num_experts_per_tok"] = spec["num_experts_per_tok"];
  cfg["quantization_config"] = qc;
  std::ofstream f(out_dir + "/config.json");
  if (!f) throw Error(fmt::format("{}/config.json: cannot write", out_dir));
  f << cfg.dump(2) << "\n";
  return summary;
}

std::vector<std::pair<std::string, ojson>> demo_specs() {
  // 1. GPTQ v1 (auto_round:auto_gptq), int4 g128 sym; o_proj int8 g64 and experts int3 g32 asym
  //    via extra_config (a regex key); lm_head dense (outside block_name_to_quantize); q/k/v biased.
  ojson gptq = ojson::parse(R"({
    "seed": 11, "num_experts_per_tok": 2,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:auto_gptq",
      "bits": 4, "group_size": 128, "sym": true, "data_type": "int",
      "block_name_to_quantize": "model.layers",
      "extra_config": {"model.layers.0.self_attn.o_proj": {"bits": 8, "group_size": 64},
                       "mlp\\.experts\\.": {"bits": 3, "group_size": 32, "sym": false}}},
    "layers": [
      {"name": "model.layers.0.self_attn.q_proj", "in_features": 256, "out_features": 256, "bias": true},
      {"name": "model.layers.0.self_attn.k_proj", "in_features": 256, "out_features": 128, "bias": true},
      {"name": "model.layers.0.self_attn.v_proj", "in_features": 256, "out_features": 128, "bias": true},
      {"name": "model.layers.0.self_attn.o_proj", "in_features": 256, "out_features": 256},
      {"name": "model.layers.0.mlp.experts", "num_experts": 8, "hidden_size": 256, "intermediate_size": 128},
      {"name": "lm_head", "in_features": 256, "out_features": 512}
    ]})");
  // 2. GPTQ v2 (auto_round), int2 g64 asym, act-order g_idx on the MLP; a 16-bit k_proj (dense) and
  //    an 8-bit per-channel (g -1) lm_head outside the blocks via extra_config.
  ojson v2 = ojson::parse(R"({
    "seed": 12,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round",
      "bits": 2, "group_size": 64, "sym": false, "data_type": "int",
      "block_name_to_quantize": ["model.layers"],
      "extra_config": {"self_attn.k_proj": {"bits": 16}, "lm_head": {"bits": 8, "group_size": -1, "sym": true}}},
    "layers": [
      {"name": "model.layers.0.self_attn.o_proj", "in_features": 192, "out_features": 256},
      {"name": "model.layers.0.self_attn.k_proj", "in_features": 256, "out_features": 64},
      {"name": "model.layers.0.mlp.gate_proj", "in_features": 256, "out_features": 320, "act_order": true},
      {"name": "model.layers.0.mlp.up_proj", "in_features": 256, "out_features": 320, "act_order": true},
      {"name": "model.layers.0.mlp.down_proj", "in_features": 320, "out_features": 256, "g_idx": true},
      {"name": "lm_head", "in_features": 256, "out_features": 384}
    ]})");
  // 3. AWQ (auto_round:auto_awq), int4 g32 asym: a Qwen-MoE-like block with 16 experts, top-4.
  ojson awq = ojson::parse(R"({
    "seed": 13, "num_experts_per_tok": 4,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:auto_awq",
      "bits": 4, "group_size": 32, "sym": false, "data_type": "int"},
    "layers": [
      {"name": "model.layers.0.self_attn.q_proj", "in_features": 128, "out_features": 128},
      {"name": "model.layers.0.mlp.experts", "num_experts": 16, "hidden_size": 128, "intermediate_size": 96},
      {"name": "model.layers.0.mlp.shared_expert.down_proj", "in_features": 96, "out_features": 128}
    ]})");
  // 4. A hybrid checkpoint: FP8 e4m3 attention (per channel) with int4 g32 MoE experts.
  ojson hybrid = ojson::parse(R"({
    "seed": 14, "num_experts_per_tok": 2,
    "quantization_config": {"quant_method": "auto-round", "bits": 8, "data_type": "fp", "group_size": -1, "sym": true,
      "extra_config": {"mlp\\.experts\\.": {"bits": 4, "data_type": "int", "group_size": 32}}},
    "layers": [
      {"name": "model.layers.0.self_attn.q_proj", "in_features": 128, "out_features": 128, "bias": true},
      {"name": "model.layers.0.mlp.experts", "num_experts": 4, "hidden_size": 128, "intermediate_size": 64}
    ]})");
  // 5. Block-scaled 4-bit with activation quantization as AutoRound exports it: MXFP4 (W4A4) with an
  //    NVFP4 o_proj and an MXFP8 (W8A8) MoE, all auto_round:llm_compressor.
  ojson mx = ojson::parse(R"({
    "seed": 15, "num_experts_per_tok": 2,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:llm_compressor",
      "bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4, "act_data_type": "mx_fp", "act_group_size": 32,
      "extra_config": {"o_proj": {"data_type": "nv_fp", "group_size": 16, "act_data_type": "nv_fp4_with_static_gs",
                                  "act_group_size": 16},
                       "mlp\\.experts\\.": {"bits": 8, "act_bits": 8}}},
    "layers": [
      {"name": "model.layers.0.self_attn.q_proj", "in_features": 128, "out_features": 96},
      {"name": "model.layers.0.self_attn.o_proj", "in_features": 96, "out_features": 128},
      {"name": "model.layers.0.mlp.experts", "num_experts": 4, "hidden_size": 128, "intermediate_size": 64}
    ]})");
  // 6. W4A8: int4 symmetric g128 weights, activations int8 per token (act_bits 8, dynamic).
  ojson w4a8 = ojson::parse(R"({
    "seed": 16, "num_experts_per_tok": 2,
    "quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:auto_gptq",
      "bits": 4, "group_size": 128, "sym": true, "act_bits": 8, "act_dynamic": true},
    "layers": [
      {"name": "model.layers.0.self_attn.q_proj", "in_features": 256, "out_features": 128, "bias": true},
      {"name": "model.layers.0.mlp.experts", "num_experts": 4, "hidden_size": 256, "intermediate_size": 128}
    ]})");
  return {{"gptq_v1_int4_mixed", gptq}, {"gptq_v2_int2_act_order", v2}, {"awq_int4_moe", awq},
          {"hybrid_fp8_attention_int4_experts", hybrid}, {"mx_nv_w4a4", mx}, {"w4a8_int4", w4a8}};
}

}  // namespace incq::host
