// The reference host in one object: settings, loaded plugins, the thread pool, and the device.
#pragma once

#include <memory>
#include <string>

#include "core/host_settings.hpp"
#include "core/plugin_loader.hpp"
#include "core/thread_pool.hpp"

namespace incq::host {

class Host {
 public:
  explicit Host(HostSettings settings);
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const HostSettings& settings() const { return settings_; }
  PluginSet& plugins() { return *plugins_; }
  ThreadPool& pool() { return *pool_; }
  incq_device device() const;

 private:
  HostSettings settings_;
  std::unique_ptr<PluginSet> plugins_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace incq::host
