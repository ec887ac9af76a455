// Test-side helpers shared by the int_fast ABI, no-allocation and concurrency tests: checkpoint
// bundles built from int_fast_test::make_matrix, layer descriptors, and layers created with options.
#pragma once

#include <string>
#include <vector>

#include "inc_cpu_plugin_harness.hpp"
#include "int_fast_test_matrix.hpp"

namespace int_fast_abi {

using namespace inc_cpu_harness;

inline incq_layer_desc linear_desc(const int_fast_test::MatrixCase& c, int32_t act_dtype, const char* name,
                                   int act_bits = 16) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = name;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = c.bits;
  d.scheme.group_size = c.group_size;
  d.scheme.sym = c.sym ? 1 : 0;
  d.scheme.packing = c.packing;
  d.scheme.act_bits = act_bits;
  d.scheme.act_dynamic = act_bits == 8 ? 1 : 0;
  d.scheme.has_g_idx = c.act_order ? 1 : 0;
  if (act_bits == 8) {
    d.scheme.act_family = INCQ_FAMILY_INT;
    d.scheme.act_group_size = -1;
    d.scheme.act_sym = 1;
  }
  d.act_dtype = act_dtype;
  d.has_bias = c.bias ? 1 : 0;
  d.in_features = c.K;
  d.out_features = c.N;
  return d;
}

// The checkpoint tensors of m, as a host hands them over.
inline void add_tensors(BundleBuilder& b, const incq::inc_cpu::IntWoMatrix& m) {
  const int64_t K = m.K, N = m.N;
  if (m.format.packing == INCQ_PACKING_AWQ) {
    b.add("qweight", INCQ_DTYPE_I32, {K, N / 8}, m.qweight);
    b.add("qzeros", INCQ_DTYPE_I32, {m.num_groups, N / 8}, m.qzeros);
  } else {
    b.add("qweight", INCQ_DTYPE_I32, {K * m.format.bits / 32, N}, m.qweight);
    b.add("qzeros", INCQ_DTYPE_I32, {m.num_groups, N * m.format.bits / 32}, m.qzeros);
  }
  b.add("scales", INCQ_DTYPE_F16, {m.num_groups, N}, m.scales);
  if (!m.g_idx.empty()) b.add("g_idx", INCQ_DTYPE_I32, {K}, m.g_idx);
  if (m.bias_dtype != 0) b.add("bias", m.bias_dtype, {N}, m.bias);
}

// A layer created with key/value options (the harness's Layer passes none).
struct OptLayer {
  const incq_impl_desc* impl = nullptr;
  incq_layer* handle = nullptr;
  incq_status status = INCQ_OK;
  std::string message;
  OptLayer(const incq_impl_desc* i, const incq_layer_desc& desc, const std::vector<incq_kv>& opts) : impl(i) {
    incq_device dev = cpu_device();
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->create(impl->impl_ctx, &desc, &dev, opts.data(), opts.size(), &handle, &err);
    message = err.message;
  }
  OptLayer(const OptLayer&) = delete;
  OptLayer& operator=(const OptLayer&) = delete;
  ~OptLayer() {
    if (handle != nullptr) impl->destroy(handle);
  }
  incq_status load(const incq_weight_bundle* bundle) {
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->set_weights(handle, bundle, &err);
    if (status == INCQ_OK) status = impl->process_weights(handle, &err);
    message = err.message;
    return status;
  }
  incq_status apply(Activations& x, Activations& y, const incq_exec* exec = nullptr, std::string* msg = nullptr) const {
    incq_tensor xt = x.tensor(), yt = y.tensor();
    incq_error err{sizeof(incq_error), 0, {}};
    const incq_status s = impl->apply_linear(handle, &xt, &yt, exec, &err);
    if (msg != nullptr) *msg = err.message;
    return s;
  }
};

inline incq_exec own_threads_exec(int max_threads) {
  incq_exec e{};
  e.struct_size = sizeof e;
  e.max_threads = max_threads;
  return e;
}

}  // namespace int_fast_abi
