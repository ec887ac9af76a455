// Parsing the quantization_config object, and resolving one layer name to its scheme.
#include "config/quant_config.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.hpp"
#include "config/quant_config_parsed.hpp"

namespace incq::host {
namespace {

using ojson = nlohmann::ordered_json;

// The value of `key` when present and not null (AutoRound writes null for "not set").
const ojson* get(const ojson& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string read_string(const ojson& v, const ConfigPath& at, const std::string& key) {
  if (!v.is_string()) fail_key(at, key, fmt::format("expected a string, got {}", v.dump()));
  return v.get<std::string>();
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// A name list written as a comma-separated string, a list, or a list of lists (AutoRound writes
// one list per block group, e.g. for multimodal models); flattened, trimmed, empties dropped.
void collect_names(const ojson& v, const ConfigPath& at, const std::string& key,
                   std::vector<std::string>& out) {
  if (v.is_string()) {
    std::stringstream ss(v.get<std::string>());
    for (std::string part; std::getline(ss, part, ',');)
      if (!trim(part).empty()) out.push_back(trim(part));
  } else if (v.is_array()) {
    for (const auto& item : v) collect_names(item, at, key, out);
  } else {
    fail_key(at, key, fmt::format("expected a string or a list of names, got {}", v.dump()));
  }
}

std::vector<NamePattern> read_patterns(const ojson& v, const ConfigPath& at, const std::string& key) {
  std::vector<std::string> names;
  collect_names(v, at, key, names);
  std::vector<NamePattern> out;
  for (const auto& n : names) {
    try {
      out.emplace_back(n);
    } catch (const std::regex_error& e) {
      fail_key(at, key, fmt::format("entry '{}' is not a valid regex: {}", n, e.what()));
    }
  }
  return out;
}

std::regex compile_key(const std::string& pattern, const ConfigPath& at, const std::string& key) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail_key(at, key, fmt::format("'{}' is not a valid regex: {}", pattern, e.what()));
  }
}

bool sets_bits(const ojson& fields) { return get(fields, "bits") || get(fields, "w_bit"); }

// Reads the packing format, and the backend preference, per quant_method.
void read_packing(const ojson& qc, const ConfigPath& at, QuantConfig::Parsed& p) {
  std::string backend;
  if (const ojson* v = get(qc, "backend")) backend = read_string(*v, at, "backend");

  if (p.method == QuantMethod::Gptq) {
    // GPTQModel marks checkpoints whose qzeros hold the zero itself with checkpoint_format gptq_v2.
    std::string fmt_name = "gptq";
    if (const ojson* v = get(qc, "checkpoint_format")) fmt_name = read_string(*v, at, "checkpoint_format");
    if (fmt_name == "gptq")
      p.context.packing = {"gptq", INCQ_PACKING_GPTQ_V1, false};
    else if (fmt_name == "gptq_v2")
      p.context.packing = {"gptq_v2", INCQ_PACKING_GPTQ_V2, false};
    else
      fail_key(at, "checkpoint_format",
               fmt::format("unsupported checkpoint_format '{}' (expected gptq or gptq_v2)", fmt_name));
  } else if (p.method == QuantMethod::Awq) {
    // Only AWQ's GEMM layout is the one of DESIGN §4; GEMV and others interleave differently.
    if (const ojson* v = get(qc, "version")) {
      const std::string version = read_string(*v, at, "version");
      if (version != "gemm" && version != "GEMM")
        fail_key(at, "version", fmt::format("unsupported AWQ version '{}' (expected gemm)", version));
    }
    p.context.packing = {"awq", INCQ_PACKING_AWQ, false};
  } else if (const ojson* v = get(qc, "packing_format")) {
    const std::string name = read_string(*v, at, "packing_format");
    auto norm = normalise_packing_format(name);
    if (!norm)
      fail_key(at, "packing_format",
               fmt::format("unknown packing_format '{}' (known: auto_round, auto_round:auto_gptq, "
                           "auto_round:gptq, auto_round:gptqmodel, auto_round:auto_awq, "
                           "auto_round:awq, auto_round:fp8, auto_round:fp8_static, "
                           "auto_round:llm_compressor, auto_gptq, auto_awq, auto)", name));
    p.context.packing = *norm;
  } else if (backend.rfind("auto_round:", 0) == 0) {
    // Old "intel/auto-round" exports wrote the packing format into `backend`.
    auto norm = normalise_packing_format(backend);
    if (!norm)
      fail_key(at, "backend", fmt::format("unknown packing format '{}' in backend (old "
                                          "intel/auto-round exports keep it there)", backend));
    p.context.packing = *norm;
    return;  // so backend() stays empty
  } else {
    p.context.packing = default_packing_format();
  }
  if (backend.rfind("auto_round:", 0) != 0) p.backend = backend;
}

void read_scope(const ojson& qc, const ConfigPath& at, QuantConfig::Parsed& p) {
  // AutoRound's loader prefers block_name_to_quantize over to_quant_block_names.
  for (const char* key : {"block_name_to_quantize", "to_quant_block_names"}) {
    const ojson* v = get(qc, key);
    if (!v) continue;
    std::vector<std::string> names;
    collect_names(*v, at, key, names);
    for (auto& n : names)
      while (!n.empty() && n.back() == '.') n.pop_back();
    if (!names.empty()) {  // an empty list restricts nothing, as in vLLM
      p.blocks = std::move(names);
      p.blocks_key = key;
    }
    break;
  }
  if (const ojson* v = get(qc, "modules_to_not_convert"))
    p.not_convert = read_patterns(*v, at, "modules_to_not_convert");
  if (const ojson* v = get(qc, "modules_in_block_to_quantize"))
    p.modules_in_block = read_patterns(*v, at, "modules_in_block_to_quantize");
  if (const ojson* v = get(qc, "lm_head")) {
    if (!v->is_boolean()) fail_key(at, "lm_head", fmt::format("expected true or false, got {}", v->dump()));
    p.lm_head_quantized = v->get<bool>();
  }
  // desc_act (act-order) changes nothing here: the host learns it from g_idx. Its type still must
  // be right, as a wrong one means the file is not what we think it is.
  if (const ojson* v = get(qc, "desc_act"); v && !v->is_boolean())
    fail_key(at, "desc_act", fmt::format("expected true or false, got {}", v->dump()));
}

void read_weight_block_size(const ojson& qc, const ConfigPath& at, QuantConfig::Parsed& p) {
  const ojson* v = get(qc, "weight_block_size");
  if (!v) return;
  if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number_integer() ||
      !(*v)[1].is_number_integer() || (*v)[0].get<int64_t>() <= 0 || (*v)[1].get<int64_t>() <= 0 ||
      (*v)[0].get<int64_t>() > 1000000 || (*v)[1].get<int64_t>() > 1000000)
    fail_key(at, "weight_block_size",
             fmt::format("expected [block_n, block_k] of positive integers, got {}", v->dump()));
  p.context.weight_block_size = std::array<int, 2>{(*v)[0].get<int>(), (*v)[1].get<int>()};
}

// Checks an override's values now, so that resolve() cannot fail later.
void validate_override(const LayerOverride& o, const QuantConfig::Parsed& p) {
  const ConfigPath at{p.source, o.object_path};
  if (!o.fields.is_object())
    throw Error(fmt::format("{}: {}: expected an object of overrides, got {}", p.source,
                            o.object_path, o.fields.dump()));
  SchemeFields f = p.global;
  read_scheme_fields(o.fields, at, f);
  build_layer_scheme(f, p.context, at, "");
}

void read_extra_config(const ojson& qc, const ConfigPath& at, QuantConfig::Parsed& p) {
  const ojson* v = get(qc, "extra_config");
  if (!v) return;
  if (!v->is_object()) fail_key(at, "extra_config", fmt::format("expected an object, got {}", v->dump()));
  for (const auto& [key, fields] : v->items()) {
    LayerOverride o;
    o.key = key;
    o.object_path = fmt::format("{}.extra_config['{}']", at.object, key);
    o.fields = fields;
    if (has_regex_chars(key)) o.regex = compile_key(key, at, fmt::format("extra_config['{}']", key));
    validate_override(o, p);
    p.extra_config.push_back(std::move(o));
  }
}

// GPTQModel's `dynamic`: "-:regex" keeps matching layers dense, "+:regex" or a bare regex applies
// the overrides. vLLM's GPTQ loader matches these with re.match, i.e. anchored at the start.
void read_dynamic(const ojson& qc, const ConfigPath& at, QuantConfig::Parsed& p) {
  const ojson* v = get(qc, "dynamic");
  if (!v) return;
  if (!v->is_object()) fail_key(at, "dynamic", fmt::format("expected an object, got {}", v->dump()));
  for (const auto& [key, fields] : v->items()) {
    LayerOverride o;
    o.key = key;
    o.object_path = fmt::format("{}.dynamic['{}']", at.object, key);
    o.fields = fields;
    o.anchored = true;
    std::string pattern = key;
    if (key.rfind("-:", 0) == 0 || key.rfind("+:", 0) == 0) {
      o.excludes = key[0] == '-';
      pattern = key.substr(2);
    }
    o.regex = compile_key(pattern, at, fmt::format("dynamic['{}']", key));
    if (!o.excludes) validate_override(o, p);
    p.dynamic.push_back(std::move(o));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open the file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: cannot read the file", path));
  return ss.str();
}

ojson parse_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return ojson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The override that names `name`, if any: extra_config first (exact name, then the longest key
// that is a dotted suffix, then regex keys in config order), else the first GPTQ dynamic rule.
struct OverrideMatch {
  const LayerOverride* entry = nullptr;
  bool names_layer = false;  // exact or dotted-suffix key: it names this very layer
  std::string rule;
};

OverrideMatch find_override(const QuantConfig::Parsed& p, const std::string& name) {
  const LayerOverride* suffix = nullptr;
  for (const auto& o : p.extra_config) {
    if (o.key == name) return {&o, true, fmt::format("extra_config key '{}' (exact name)", o.key)};
    if (!o.regex && is_dotted_suffix(o.key, name) && (!suffix || o.key.size() > suffix->key.size()))
      suffix = &o;
  }
  if (suffix) return {suffix, true, fmt::format("extra_config key '{}' (dotted suffix)", suffix->key)};
  for (const auto& o : p.extra_config)
    if (o.regex && std::regex_search(name, *o.regex))
      return {&o, false, fmt::format("extra_config key '{}' (regex)", o.key)};
  for (const auto& o : p.dynamic)
    if (std::regex_search(name, *o.regex, std::regex_constants::match_continuous))
      return {&o, false, fmt::format("dynamic key '{}'", o.key)};
  return {};
}

// Empty when the global settings cover `name`; otherwise why they do not.
std::string outside_reason(const QuantConfig::Parsed& p, const std::string& name) {
  if (p.blocks) {
    bool inside = false;
    for (const auto& b : *p.blocks) inside = inside || has_dotted_prefix(b, name);
    if (!inside) return fmt::format("outside {}", p.blocks_key);
  } else if (last_component(name) == "lm_head" && !p.lm_head_quantized) {
    return "lm_head, which is not quantized unless the config names it";
  }
  if (p.modules_in_block && !first_match(*p.modules_in_block, name))
    return "not in modules_in_block_to_quantize";
  return "";
}

}  // namespace

QuantConfig QuantConfig::from_json(const ojson& qc, const std::string& source) {
  auto p = std::make_shared<Parsed>();
  p->source = source;
  const ConfigPath at{source, "quantization_config"};
  if (!qc.is_object())
    throw Error(fmt::format("{}: quantization_config: expected a JSON object, got {}", source, qc.dump()));
  p->raw_ordered = qc;
  p->raw = nlohmann::json::parse(qc.dump());

  const ojson* method = get(qc, "quant_method");
  if (!method) fail_key(at, "quant_method", "missing");
  const std::string method_name = read_string(*method, at, "quant_method");
  auto m = parse_quant_method(method_name);
  if (!m)
    fail_key(at, "quant_method", fmt::format("unknown quant_method '{}' (known: auto-round, "
                                             "intel/auto-round, auto_round, gptq, awq)", method_name));
  p->method = *m;

  if (p->method == QuantMethod::Awq) p->global.sym = false;  // AWQ's zero_point defaults to true
  read_scheme_fields(qc, at, p->global);
  if (!get(qc, "bits") && !get(qc, "w_bit")) fail_key(at, "bits", "missing");
  if (!get(qc, "group_size") && !get(qc, "q_group_size")) fail_key(at, "group_size", "missing");
  read_packing(qc, at, *p);
  read_weight_block_size(qc, at, *p);
  build_layer_scheme(p->global, p->context, at, "");
  read_scope(qc, at, *p);
  read_extra_config(qc, at, *p);
  read_dynamic(qc, at, *p);
  return QuantConfig(std::move(p));
}

QuantConfig QuantConfig::from_json(const nlohmann::json& qc, const std::string& source) {
  // nlohmann::json keeps object keys sorted, so regex keys are tried in name order here.
  return from_json(ojson::parse(qc.dump()), source);
}

QuantConfig QuantConfig::from_model_dir(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  const std::string qc_path = dir + "/quantization_config.json";
  if (file_exists(config_path)) {
    const ojson config = parse_file(config_path);
    if (!config.is_object()) throw Error(fmt::format("{}: expected a JSON object", config_path));
    if (const ojson* qc = get(config, "quantization_config")) return from_json(*qc, config_path);
    if (!file_exists(qc_path))
      throw Error(fmt::format("{}: no quantization_config, and there is no {}", config_path, qc_path));
  } else if (!file_exists(qc_path)) {
    throw Error(fmt::format("{}: neither config.json nor quantization_config.json found", dir));
  }
  return from_json(parse_file(qc_path), qc_path);
}

LayerScheme QuantConfig::resolve(const std::string& name) const {
  const Parsed& p = *parsed_;
  // modules_to_not_convert wins over every override: AutoRound's loader rewrites those layers to
  // 16 bits after reading extra_config and dynamic.
  if (const NamePattern* e = first_match(p.not_convert, name))
    return dense_layer(fmt::format("modules_to_not_convert entry '{}'", e->text()));

  const OverrideMatch ov = find_override(p, name);
  if (ov.entry && ov.entry->excludes) return dense_layer(ov.rule + " excludes it");
  const std::string outside = outside_reason(p, name);
  const ConfigPath global_at{p.source, "quantization_config"};
  if (!ov.entry) {
    if (!outside.empty()) return dense_layer(outside);
    return build_layer_scheme(p.global, p.context, global_at, "global quantization_config");
  }
  // As in vLLM: a key that names the layer pulls it in with the global values as fallback; a
  // regex that merely matches a layer outside the quantized set must say its own bits.
  if (!outside.empty() && !ov.names_layer && !sets_bits(ov.entry->fields))
    return dense_layer(fmt::format("{} sets no bits and the layer is {}", ov.rule, outside));
  SchemeFields f = p.global;
  const ConfigPath at{p.source, ov.entry->object_path};
  read_scheme_fields(ov.entry->fields, at, f);
  const std::string rule = outside.empty() ? ov.rule : fmt::format("{}, though {}", ov.rule, outside);
  return build_layer_scheme(f, p.context, at, rule);
}

std::string QuantConfig::backend() const { return parsed_->backend; }
const std::string& QuantConfig::source() const { return parsed_->source; }
const nlohmann::json& QuantConfig::raw() const { return parsed_->raw; }
const nlohmann::ordered_json& QuantConfig::raw_ordered() const { return parsed_->raw_ordered; }

}  // namespace incq::host
