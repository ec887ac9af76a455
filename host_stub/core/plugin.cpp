#include "core/plugin.hpp"

#include <dlfcn.h>

#include <cstring>

namespace incq::host {

Plugin::Plugin(std::string path, void* dl_handle, const incq_plugin_api* api)
    : path_(std::move(path)),
      dl_handle_(dl_handle),
      api_(api),
      name_(api->name ? api->name : ""),
      version_(api->version ? api->version : "") {}

Plugin::~Plugin() {
  if (initialized_ && api_->shutdown != nullptr) api_->shutdown();
  if (dl_handle_ != nullptr) dlclose(dl_handle_);
}

const Availability& Plugin::availability(int32_t device_type) {
  auto it = availability_.find(device_type);
  if (it != availability_.end()) return it->second;
  Availability a;
  if (api_->probe == nullptr) {
    a.available = false;
    a.detail = "plugin has no probe entry";
  } else {
    incq_availability out{};
    out.struct_size = sizeof out;
    const incq_status st = api_->probe(device_type, &out);
    if (st != INCQ_OK) {
      a.available = false;
      a.detail = "probe failed (status " + std::to_string(st) + "): " +
                 std::string(out.detail, strnlen(out.detail, sizeof out.detail));
    } else {
      a.available = out.available != 0;
      a.detail.assign(out.detail, strnlen(out.detail, sizeof out.detail));
    }
  }
  return availability_.emplace(device_type, std::move(a)).first->second;
}

}  // namespace incq::host
