// The smallest host table a plugin can be initialized with: it records every register_impl call and
// judges nothing, so the conformance suite sees the descriptors exactly as the plugin wrote them.
#pragma once

#include <cstdio>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::abi_test {

class FakeHost {
 public:
  FakeHost() {
    table_.struct_size = sizeof table_;
    table_.abi_major = INCQ_ABI_VERSION_MAJOR;
    table_.abi_minor = INCQ_ABI_VERSION_MINOR;
    table_.host_ctx = this;
    table_.register_impl = &FakeHost::register_impl;
    table_.log = nullptr;  // OPTIONAL: a plugin must cope without a logger
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const incq_host_api* table() const { return &table_; }
  incq_host_api* mutable_table() { return &table_; }
  const std::vector<const incq_impl_desc*>& registered() const { return registered_; }
  int register_calls() const { return register_calls_; }
  // register_impl is valid only during initialize: the test closes it once initialize returns.
  void close() { open_ = false; }

 private:
  static incq_status register_impl(void* ctx, const incq_impl_desc* desc, incq_error* err) {
    auto* self = static_cast<FakeHost*>(ctx);
    ++self->register_calls_;
    const char* why = nullptr;
    if (!self->open_) why = "register_impl called outside initialize";
    else if (desc == nullptr) why = "NULL descriptor";
    if (why != nullptr) {
      if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = INCQ_ERR_INVALID_ARGUMENT;
      if (INCQ_HAS_FIELD(err, incq_error, message)) std::snprintf(err->message, sizeof err->message, "%s", why);
      return INCQ_ERR_INVALID_ARGUMENT;
    }
    self->registered_.push_back(desc);
    if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = INCQ_OK;
    return INCQ_OK;
  }

  incq_host_api table_{};
  std::vector<const incq_impl_desc*> registered_;
  int register_calls_ = 0;
  bool open_ = true;
};

}  // namespace incq::abi_test
