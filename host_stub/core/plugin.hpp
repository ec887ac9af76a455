// One loaded plugin: its dlopen handle, its function table, its availability per device type.
// A Plugin is shared (std::shared_ptr) by every layer handle it created, so it is shut down and
// unloaded only after the last of them is destroyed (ABI rule 12).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host {

struct Availability {
  bool available = false;
  std::string detail;  // the plugin's exact words
};

class Plugin {
 public:
  Plugin(std::string path, void* dl_handle, const incq_plugin_api* api);
  ~Plugin();  // shutdown (if initialized) then dlclose
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  uint32_t abi_major() const { return api_->abi_major; }
  uint32_t abi_minor() const { return api_->abi_minor; }
  const incq_plugin_api* api() const { return api_; }

  // Probes once per device type and caches the answer (the plugin caches too; this keeps the
  // host's view stable and cheap to print).
  const Availability& availability(int32_t device_type);

  void mark_initialized() { initialized_ = true; }
  // The host table and context handed to initialize: they must outlive shutdown (ABI: borrowed
  // until shutdown returns), so the plugin object keeps them.
  void keep_host_binding(std::shared_ptr<void> binding) { host_binding_ = std::move(binding); }

 private:
  std::string path_;
  void* dl_handle_;
  const incq_plugin_api* api_;
  std::string name_;
  std::string version_;
  bool initialized_ = false;
  std::map<int32_t, Availability> availability_;
  std::shared_ptr<void> host_binding_;  // destroyed after ~Plugin's body, i.e. after shutdown
};

}  // namespace incq::host
