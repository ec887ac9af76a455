#include "core/host.hpp"

#include <set>
#include <thread>

namespace incq::host {

Host::Host(HostSettings settings) : settings_(std::move(settings)) {
  plugins_ = std::make_unique<PluginSet>();
  plugins_->set_plugin_options(settings_.plugin_options);
  std::set<std::string> disabled;
  std::string sources;
  for (const auto& d : settings_.policy.disabled) {
    disabled.insert(d.name);
    if (sources.find(d.source) == std::string::npos) sources += (sources.empty() ? "" : ", ") + d.source;
  }
  plugins_->set_disabled(disabled, sources);
  for (const auto& dir : settings_.plugin_dirs) plugins_->load_dir(dir);
  for (const auto& s : plugins_->skipped())
    settings_.policy.unloaded_plugins.push_back(s.name + " (" + s.path + "): " + s.reason);
  for (const auto& f : plugins_->failures()) settings_.policy.unloaded_plugins.push_back(f.path + ": " + f.reason);
  int threads = settings_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<ThreadPool>(threads);
}

incq_device Host::device() const {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = settings_.policy.device_type;
  d.index = 0;
  return d;
}

}  // namespace incq::host
