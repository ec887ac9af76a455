#include "core/plugin_loader.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace incq::host {

namespace fs = std::filesystem;

namespace {

// The smallest plugin table of ABI 1.0: up to and including probe.
constexpr size_t kMinPluginApiSize = offsetof(incq_plugin_api, probe) + sizeof(void*);

// What register_impl and log see as host_ctx. Kept alive by the Plugin until after shutdown.
struct InitContext {
  Registry* registry;
  std::string plugin_name;
  bool open;  // register_impl is only valid during initialize
};

struct HostBinding {
  InitContext ctx;
  incq_host_api table;
};

incq_status host_register_impl(void* host_ctx, const incq_impl_desc* desc, incq_error* err) {
  auto* ctx = static_cast<InitContext*>(host_ctx);
  // The plugin sized err (struct_size): write only the fields that fit, and never struct_size.
  auto fill = [&](incq_status st, const std::string& msg) {
    if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = st;
    if (INCQ_HAS_FIELD(err, incq_error, message)) std::snprintf(err->message, sizeof err->message, "%s", msg.c_str());
    return st;
  };
  if (ctx == nullptr || !ctx->open)
    return fill(INCQ_ERR_INVALID_ARGUMENT, "register_impl called outside initialize");
  try {
    ctx->registry->add(desc, ctx->plugin_name);
  } catch (const std::exception& e) {
    return fill(INCQ_ERR_INVALID_ARGUMENT, e.what());
  }
  return fill(INCQ_OK, "");
}

void host_log(void* host_ctx, int32_t level, const char* msg) {
  auto* ctx = static_cast<InitContext*>(host_ctx);
  const std::string who = ctx ? ctx->plugin_name : std::string("?");
  const char* text = msg ? msg : "";
  switch (level) {
    case INCQ_LOG_DEBUG: spdlog::debug("[{}] {}", who, text); break;
    case INCQ_LOG_INFO: spdlog::info("[{}] {}", who, text); break;
    case INCQ_LOG_WARN: spdlog::warn("[{}] {}", who, text); break;
    default: spdlog::error("[{}] {}", who, text); break;
  }
}

std::string error_text(const incq_error& e) {
  return std::string(e.message, strnlen(e.message, sizeof e.message));
}

}  // namespace

PluginSet::PluginSet() = default;

PluginSet::~PluginSet() {
  // Implementations hold the plugins; clear them first so each plugin goes once nothing holds it.
  registry_ = Registry();
  plugins_.clear();
}

void PluginSet::load_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string fname = entry.path().filename().string();
    if (fname.rfind("libincq_", 0) == 0 && entry.path().extension() == ".so") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f);
}

std::shared_ptr<Plugin> PluginSet::load_file(const std::string& path) {
  try {
    return load_file_or_throw(path);
  } catch (const std::exception& e) {
    failures_.push_back({path, e.what()});
    spdlog::warn("plugin {} not loaded: {}", path, e.what());
    return nullptr;
  }
}

std::shared_ptr<Plugin> PluginSet::load_file_or_throw(const std::string& path) {
  // RTLD_LOCAL: plugins never see each other's symbols; RTLD_NOW: unresolved symbols fail here,
  // with the loader's message, instead of at the first call.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(fmt::format("dlopen failed: {}", why ? why : "unknown reason"));
  }
  auto close_on_error = [&](const std::string& msg) -> std::shared_ptr<Plugin> {
    dlclose(handle);
    throw Error(msg);
  };
  dlerror();
  void* sym = dlsym(handle, INCQ_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) return close_on_error(fmt::format("missing entry symbol '{}'", INCQ_PLUGIN_ENTRY_SYMBOL));
  auto get_api = reinterpret_cast<incq_plugin_get_api_fn>(sym);
  const incq_plugin_api* api = get_api();
  if (api == nullptr) return close_on_error(fmt::format("'{}' returned NULL", INCQ_PLUGIN_ENTRY_SYMBOL));
  // The version comes before anything else: a different major may lay the table out differently,
  // so no other field is read until it matches.
  if (api->struct_size < offsetof(incq_plugin_api, abi_minor) + sizeof(uint32_t))
    return close_on_error(fmt::format("plugin table struct_size {} is too small to hold the ABI version",
                                      api->struct_size));
  if (api->abi_major != INCQ_ABI_VERSION_MAJOR)
    return close_on_error(fmt::format("ABI major version {} (minor {}) is not supported: this host speaks {}.{}",
                                      api->abi_major, api->abi_minor, INCQ_ABI_VERSION_MAJOR,
                                      INCQ_ABI_VERSION_MINOR));
  if (api->struct_size < kMinPluginApiSize)
    return close_on_error(fmt::format("plugin table struct_size {} is smaller than the {} bytes ABI 1.0 requires",
                                      api->struct_size, kMinPluginApiSize));
  if (api->name == nullptr || api->name[0] == '\0') return close_on_error("plugin table has no name");
  const std::string name = api->name;
  if (api->initialize == nullptr) return close_on_error(fmt::format("plugin '{}': required entry 'initialize' is NULL", name));
  if (api->shutdown == nullptr) return close_on_error(fmt::format("plugin '{}': required entry 'shutdown' is NULL", name));
  if (api->probe == nullptr) return close_on_error(fmt::format("plugin '{}': required entry 'probe' is NULL", name));
  for (const auto& p : plugins_)
    if (p->name() == name)
      return close_on_error(fmt::format("a plugin named '{}' is already loaded from {}", name, p->path()));
  if (disabled_.count(name)) {
    dlclose(handle);
    skipped_.push_back({path, name, "disabled by " + disabled_source_});
    spdlog::info("plugin '{}' ({}) disabled by {}", name, path, disabled_source_);
    return nullptr;
  }

  auto plugin = std::make_shared<Plugin>(path, handle, api);  // owns handle from here on
  auto binding = std::make_shared<HostBinding>();
  binding->ctx = InitContext{&registry_, name, true};
  incq_host_api& host = binding->table;
  host = incq_host_api{};
  host.struct_size = sizeof host;
  host.abi_major = INCQ_ABI_VERSION_MAJOR;
  host.abi_minor = INCQ_ABI_VERSION_MINOR;
  host.host_ctx = &binding->ctx;
  host.register_impl = host_register_impl;
  host.log = host_log;
  plugin->keep_host_binding(binding);

  std::vector<incq_kv> kvs;
  auto opt = options_.find(name);
  if (opt != options_.end())
    for (const auto& [k, v] : opt->second) kvs.push_back({k.c_str(), v.c_str()});

  incq_error err{};
  err.struct_size = sizeof err;
  const incq_status st = api->initialize(&host, kvs.data(), kvs.size(), &err);
  binding->ctx.open = false;
  if (st != INCQ_OK) {
    registry_.remove_plugin(name);
    // Not initialized: the destructor skips shutdown and only unloads.
    throw Error(fmt::format("plugin '{}': initialize failed (status {}): {}", name, static_cast<int>(st),
                            error_text(err)));
  }
  plugin->mark_initialized();
  registry_.bind_plugin(name, plugin);
  plugins_.push_back(plugin);
  spdlog::debug("loaded plugin '{}' {} from {}", name, plugin->version(), path);
  return plugin;
}

std::vector<std::string> default_plugin_dirs() {
  std::vector<std::string> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / INCQ_INSTALL_LIBDIR / "incq" / "plugins").string());
  dirs.push_back(std::string(INCQ_INSTALL_PREFIX) + "/" + INCQ_INSTALL_LIBDIR + "/incq/plugins");
  // The build tree only for programs running from it (the uninstalled incq, the tests): an
  // installed host must not pick up plugins from wherever it happened to be compiled.
  const std::string build_dir = INCQ_BUILD_DIR;
  if (!ec && exe.string().rfind(build_dir + "/", 0) == 0) dirs.push_back(INCQ_BUILD_PLUGIN_DIR);
  std::vector<std::string> unique;
  for (auto& d : dirs) {
    const std::string norm = fs::weakly_canonical(d, ec).string();
    const std::string key = ec ? d : norm;
    if (std::find(unique.begin(), unique.end(), key) == unique.end()) unique.push_back(key);
  }
  return unique;
}

}  // namespace incq::host
