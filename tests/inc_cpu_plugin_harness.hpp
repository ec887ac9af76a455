// Test-side harness for the inc_cpu plugin as a host sees it: dlopen, a fake host that records
// registrations, bundles of hand-built tensors, activations in any dtype, and a layer handle that
// runs the lifecycle. Shared by tests/test_inc_cpu_fp8.cpp and tests/test_inc_cpu_w4a8.cpp.
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace inc_cpu_harness {

inline incq_tensor make_tensor(const void* data, int32_t dtype, std::vector<int64_t> shape) {
  incq_tensor t{};
  t.struct_size = sizeof t;
  t.data = const_cast<void*>(data);
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[static_cast<size_t>(i)];
    t.strides[i] = stride;
    stride *= shape[static_cast<size_t>(i)];
  }
  t.device_type = INCQ_DEVICE_CPU;
  return t;
}

// Owns tensor names and bytes; hands out a bundle pointing into them.
class BundleBuilder {
 public:
  template <typename T>
  void add(const std::string& name, int32_t dtype, std::vector<int64_t> shape, const std::vector<T>& data) {
    bytes_.emplace_back(data.size() * sizeof(T));
    if (!data.empty()) std::memcpy(bytes_.back().data(), data.data(), bytes_.back().size());
    add_view(name, make_tensor(bytes_.back().data(), dtype, std::move(shape)));
  }
  // A view of memory the caller keeps alive (e.g. a mapped checkpoint tensor).
  void add_view(const std::string& name, const incq_tensor& t) {
    names_.push_back(name);
    entries_.push_back({names_.back().c_str(), t});
  }
  incq_tensor& tensor(const std::string& name) {
    for (auto& e : entries_)
      if (name == e.name) return e.tensor;
    throw std::runtime_error("no tensor " + name);
  }
  void remove(const std::string& name) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (name == it->name) {
        entries_.erase(it);
        return;
      }
    throw std::runtime_error("no tensor " + name);
  }
  const incq_weight_bundle* bundle(int32_t packing) {
    bundle_ = incq_weight_bundle{sizeof(incq_weight_bundle), packing, entries_.size(), entries_.data()};
    return &bundle_;
  }

 private:
  std::deque<std::string> names_;
  std::deque<std::vector<uint8_t>> bytes_;
  std::vector<incq_named_tensor> entries_;
  incq_weight_bundle bundle_{};
};

struct FakeHost {
  std::vector<const incq_impl_desc*> impls;
  static incq_status register_impl(void* ctx, const incq_impl_desc* desc, incq_error*) {
    static_cast<FakeHost*>(ctx)->impls.push_back(desc);
    return INCQ_OK;
  }
  incq_host_api table() {
    incq_host_api h{};
    h.struct_size = sizeof h;
    h.abi_major = INCQ_ABI_VERSION_MAJOR;
    h.abi_minor = INCQ_ABI_VERSION_MINOR;
    h.host_ctx = this;
    h.register_impl = &FakeHost::register_impl;
    return h;
  }
};

inline const char* plugin_path() { return INCQ_TEST_PLUGIN_DIR "/libincq_inc_cpu.so"; }

// The plugin, initialized once against a fake host; nullptr when it cannot be loaded.
inline const FakeHost* initialized_plugin() {
  static const FakeHost* host = []() -> const FakeHost* {
    void* lib = dlopen(plugin_path(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return nullptr;
    auto entry = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(lib, INCQ_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr || entry() == nullptr) return nullptr;
    auto* h = new FakeHost;
    static incq_host_api table = h->table();
    incq_error err{sizeof(incq_error), 0, {}};
    if (entry()->initialize(&table, nullptr, 0, &err) != INCQ_OK) return nullptr;
    return h;
  }();
  return host;
}

inline const incq_impl_desc* find_impl(const std::string& name) {
  const FakeHost* host = initialized_plugin();
  if (host == nullptr) return nullptr;
  for (const incq_impl_desc* d : host->impls)
    if (name == d->name) return d;
  return nullptr;
}

inline incq_device cpu_device() {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_CPU;
  return d;
}

// can_implement's answer: "OK" or the reason text.
inline std::string why_not(const incq_impl_desc* impl, const incq_layer_desc& d) {
  incq_device dev = cpu_device();
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = impl->can_implement(impl->impl_ctx, &d, &dev, &err);
  if (s == INCQ_OK) return "OK";
  if (s != INCQ_ERR_UNSUPPORTED) return "status " + std::to_string(s) + ": " + err.message;
  return err.message;
}

// A created layer, destroyed at scope end.
struct Layer {
  const incq_impl_desc* impl = nullptr;
  incq_layer* handle = nullptr;
  incq_status status = INCQ_OK;
  std::string message;
  Layer(const incq_impl_desc* i, const incq_layer_desc& desc) : impl(i) {
    incq_device dev = cpu_device();
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->create(impl->impl_ctx, &desc, &dev, nullptr, 0, &handle, &err);
    message = err.message;
  }
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;
  ~Layer() {
    if (handle != nullptr) impl->destroy(handle);
  }
  // set_weights + process_weights; the first failing status, its message in `message`.
  incq_status load(const incq_weight_bundle* bundle) {
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->set_weights(handle, bundle, &err);
    if (status == INCQ_OK) status = impl->process_weights(handle, &err);
    message = err.message;
    return status;
  }
};

// Activations [rows, cols] in F32 / BF16 / F16 with a row stride.
struct Activations {
  int32_t dtype;
  int64_t rows, cols, stride;
  std::vector<uint8_t> bytes;
  Activations(int32_t dt, int64_t r, int64_t c, int64_t s = -1)
      : dtype(dt), rows(r), cols(c), stride(s < 0 ? c : s),
        bytes(static_cast<size_t>(std::max<int64_t>(r, 1) * stride) * incq::dtype_size(dt), 0) {}
  // Stores v rounded to the dtype; returns the value actually stored.
  double set(int64_t r, int64_t c, double v) {
    uint8_t* p = bytes.data() + (r * stride + c) * incq::dtype_size(dtype);
    if (dtype == INCQ_DTYPE_F32) {
      const float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
    } else {
      const uint16_t h = dtype == INCQ_DTYPE_BF16 ? incq::float_to_bf16(static_cast<float>(v))
                                                  : incq::float_to_half(static_cast<float>(v));
      std::memcpy(p, &h, 2);
    }
    return get(r, c);
  }
  double get(int64_t r, int64_t c) const {
    const uint8_t* p = bytes.data() + (r * stride + c) * incq::dtype_size(dtype);
    if (dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return dtype == INCQ_DTYPE_BF16 ? incq::bf16_to_float(h) : incq::half_to_float(h);
  }
  incq_tensor tensor() {
    incq_tensor t = make_tensor(bytes.data(), dtype, {rows, cols});
    t.strides[0] = stride;
    return t;
  }
};

inline incq_status apply_linear(const Layer& layer, Activations& x, Activations& y, std::string* message = nullptr,
                                const incq_exec* exec = nullptr) {
  incq_tensor xt = x.tensor(), yt = y.tensor();
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = layer.impl->apply_linear(layer.handle, &xt, &yt, exec, &err);
  if (message != nullptr) *message = err.message;
  return s;
}

inline incq_status apply_moe(const Layer& layer, Activations& x, const std::vector<int32_t>& ids,
                             const std::vector<float>& weights, int top_k, Activations& out,
                             std::string* message = nullptr) {
  incq_tensor xt = x.tensor(), ot = out.tensor();
  const incq_tensor it = make_tensor(ids.data(), INCQ_DTYPE_I32, {x.rows, top_k});
  const incq_tensor wt = make_tensor(weights.data(), INCQ_DTYPE_F32, {x.rows, top_k});
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = layer.impl->apply_moe(layer.handle, &xt, &it, &wt, &ot, nullptr, &err);
  if (message != nullptr) *message = err.message;
  return s;
}

// Unit roundoff of an output dtype, for "tolerance * magnitude + rounding of y" bounds.
inline double unit_roundoff(int32_t dtype) {
  return dtype == INCQ_DTYPE_F32 ? 0x1p-24 : dtype == INCQ_DTYPE_BF16 ? 0x1p-8 : 0x1p-11;
}

// Half the smallest subnormal of an output dtype: the absolute rounding of a tiny result.
inline double half_smallest_subnormal(int32_t dtype) {
  return dtype == INCQ_DTYPE_F32 ? 0x1p-150 : dtype == INCQ_DTYPE_BF16 ? 0x1p-134 : 0x1p-25;
}

// A host pool that splits [0, n) into two halves, run on this thread (exercises the parallel_for path).
inline incq_exec halving_exec() {
  incq_exec e{};
  e.struct_size = sizeof e;
  e.max_threads = 2;
  e.parallel_for = [](void*, int64_t n, incq_range_fn fn, void* ctx) {
    fn(ctx, n / 2, n);
    fn(ctx, 0, n / 2);
  };
  return e;
}

}  // namespace inc_cpu_harness
