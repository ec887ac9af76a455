#include "core/host_settings.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/error.hpp"

namespace incq::host {

namespace {

using json = nlohmann::ordered_json;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string expect_string(const json& v, const std::string& file, const std::string& key) {
  if (!v.is_string()) throw Error(fmt::format("{}: key '{}' must be a string, got {}", file, key, v.dump()));
  return v.get<std::string>();
}

std::vector<std::string> expect_string_list(const json& v, const std::string& file, const std::string& key) {
  if (!v.is_array()) throw Error(fmt::format("{}: key '{}' must be a list of strings, got {}", file, key, v.dump()));
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(expect_string(e, file, key + "[]"));
  return out;
}

// The host config file: our own format, so unknown keys are errors (a typo must not be ignored).
void apply_config_file(const std::string& file, HostSettings& s, std::optional<std::string>& device) {
  std::ifstream in(file);
  if (!in) throw Error(fmt::format("{}: cannot open host config file", file));
  json root;
  try {
    root = json::parse(in);
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", file, e.what()));
  }
  if (!root.is_object()) throw Error(fmt::format("{}: the host config must be a JSON object", file));
  bool use_defaults = true;
  for (const auto& [key, value] : root.items()) {
    if (key == "plugin_dirs") {
      for (auto& d : expect_string_list(value, file, key)) s.plugin_dirs.push_back(d);
    } else if (key == "default_plugin_dirs") {
      if (!value.is_boolean()) throw Error(fmt::format("{}: key '{}' must be true or false", file, key));
      use_defaults = value.get<bool>();
    } else if (key == "backend") {
      s.policy.config_backend = BackendChoice{expect_string(value, file, key), fmt::format("host config {} key 'backend'", file)};
    } else if (key == "layer_backends") {
      if (!value.is_object())
        throw Error(fmt::format("{}: key 'layer_backends' must map layer-name regexes to backend names", file));
      for (const auto& [pattern, name] : value.items()) {
        try {
          std::regex check(pattern);
        } catch (const std::regex_error& e) {
          throw Error(fmt::format("{}: layer_backends key '{}' is not a valid regex: {}", file, pattern, e.what()));
        }
        s.policy.config_layer_backends.push_back(
            {pattern, {expect_string(name, file, "layer_backends." + pattern),
                       fmt::format("host config {} layer_backends '{}'", file, pattern)}});
      }
    } else if (key == "disable") {
      for (auto& n : expect_string_list(value, file, key))
        s.policy.disabled.push_back({n, fmt::format("host config {} key 'disable'", file)});
    } else if (key == "device") {
      if (!device) device = expect_string(value, file, key);
      parse_device_type(expect_string(value, file, key), fmt::format("{} key 'device'", file));
    } else if (key == "threads") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 4096)
        throw Error(fmt::format("{}: key 'threads' must be an integer in [0, 4096], got {}", file, value.dump()));
      if (s.threads == 0) s.threads = value.get<int>();
    } else if (key == "act_quant") {
      // "int8" for every layer, or {"layer regex": "int8" | "none"}.
      auto add = [&](const std::string& pattern, const json& mode) {
        const std::string m = expect_string(mode, file, "act_quant");
        if (m != "int8" && m != "none")
          throw Error(fmt::format("{}: act_quant '{}' is not a mode (known: int8, none)", file, m));
        try {
          std::regex check(pattern);
        } catch (const std::regex_error& e) {
          throw Error(fmt::format("{}: act_quant key '{}' is not a valid regex: {}", file, pattern, e.what()));
        }
        s.act_quant.push_back({pattern, m, fmt::format("host config {} key 'act_quant'", file)});
      };
      if (value.is_object()) {
        for (const auto& [pattern, mode] : value.items()) add(pattern, mode);
      } else {
        add("", value);
      }
    } else if (key == "plugin_options") {
      if (!value.is_object()) throw Error(fmt::format("{}: key 'plugin_options' must be an object of objects", file));
      for (const auto& [plugin, opts] : value.items()) {
        if (!opts.is_object())
          throw Error(fmt::format("{}: plugin_options.{} must be an object of strings", file, plugin));
        for (const auto& [k, v] : opts.items()) {
          if (v.is_string()) s.plugin_options[plugin][k] = v.get<std::string>();
          else if (v.is_number() || v.is_boolean()) s.plugin_options[plugin][k] = v.dump();
          else throw Error(fmt::format("{}: plugin_options.{}.{} must be a string, number or bool", file, plugin, k));
        }
      }
    } else if (key == "layer_options") {
      // {"layer regex": {"key": "value"}}: options for the implementation serving matching layers.
      if (!value.is_object())
        throw Error(fmt::format("{}: key 'layer_options' must map layer-name regexes to objects of options", file));
      for (const auto& [pattern, opts] : value.items()) {
        try {
          std::regex check(pattern);
        } catch (const std::regex_error& e) {
          throw Error(fmt::format("{}: layer_options key '{}' is not a valid regex: {}", file, pattern, e.what()));
        }
        if (!opts.is_object())
          throw Error(fmt::format("{}: layer_options.{} must be an object of options", file, pattern));
        for (const auto& [k, v] : opts.items()) {
          std::string text;
          if (v.is_string()) text = v.get<std::string>();
          else if (v.is_number() || v.is_boolean()) text = v.dump();
          else throw Error(fmt::format("{}: layer_options.{}.{} must be a string, number or bool", file, pattern, k));
          s.policy.layer_options.push_back({pattern, k, text, fmt::format("host config {} layer_options '{}'", file, pattern)});
        }
      }
    } else {
      throw Error(fmt::format("{}: unknown key '{}' (known: plugin_dirs, default_plugin_dirs, backend, "
                              "layer_backends, disable, device, threads, act_quant, plugin_options, layer_options)",
                              file, key));
    }
  }
  if (use_defaults)
    for (auto& d : default_plugin_dirs()) s.plugin_dirs.push_back(d);
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

int32_t parse_device_type(const std::string& text, const std::string& source) {
  if (text == "cpu") return INCQ_DEVICE_CPU;
  if (text == "opencl" || text == "xpu" || text == "gpu") return INCQ_DEVICE_OPENCL;
  throw Error(fmt::format("{}: unknown device '{}' (known: cpu, opencl/xpu)", source, text));
}

HostSettings resolve_host_settings(const CommandLineSettings& cli, const EnvLookup& env) {
  HostSettings s;
  // Plugin directories: command line first, then the environment, then the host config, then
  // the defaults (install location, build tree). Earlier directories win on a name clash.
  for (const auto& d : cli.plugin_dirs) s.plugin_dirs.push_back(d);
  if (auto p = env("INCQ_PLUGIN_PATH"))
    for (auto& d : split(*p, ':')) s.plugin_dirs.push_back(d);

  if (cli.threads) s.threads = *cli.threads;
  if (cli.act_quant) {
    if (*cli.act_quant != "int8" && *cli.act_quant != "none")
      throw Error(fmt::format("--act-quant: '{}' is not a mode (known: int8, none)", *cli.act_quant));
    s.act_quant.push_back({"", *cli.act_quant, "--act-quant"});
  }
  // Command-line layer options come first, so they outrank the host config's.
  for (const auto& o : cli.layer_options) s.policy.layer_options.push_back(parse_layer_option(o, "--layer-option"));
  std::optional<std::string> device = cli.device;
  if (cli.backend) s.policy.cli_backend = BackendChoice{*cli.backend, "--backend"};
  if (auto b = env("INCQ_BACKEND"); b && !b->empty()) s.policy.env_backend = BackendChoice{*b, "INCQ_BACKEND"};
  for (const auto& d : cli.disable)
    for (auto& n : split(d, ',')) s.policy.disabled.push_back({n, "--disable"});
  if (auto d = env("INCQ_DISABLE"))
    for (auto& n : split(*d, ',')) s.policy.disabled.push_back({n, "INCQ_DISABLE"});

  std::optional<std::string> config_file = cli.config_file;
  if (!config_file) config_file = env("INCQ_CONFIG");
  if (config_file && !config_file->empty()) {
    s.config_file = *config_file;
    const size_t before = s.plugin_dirs.size();
    apply_config_file(*config_file, s, device);
    if (cli.no_default_plugin_dirs) {
      // The command line outranks the config's default_plugin_dirs.
      const auto defaults = default_plugin_dirs();
      std::vector<std::string> kept(s.plugin_dirs.begin(), s.plugin_dirs.begin() + static_cast<std::ptrdiff_t>(before));
      for (size_t i = before; i < s.plugin_dirs.size(); ++i)
        if (std::find(defaults.begin(), defaults.end(), s.plugin_dirs[i]) == defaults.end())
          kept.push_back(s.plugin_dirs[i]);
      s.plugin_dirs = kept;
    }
  } else if (!cli.no_default_plugin_dirs) {
    for (auto& d : default_plugin_dirs()) s.plugin_dirs.push_back(d);
  }
  if (device) s.policy.device_type = parse_device_type(*device, cli.device ? "--device" : "host config");
  return s;
}

}  // namespace incq::host
