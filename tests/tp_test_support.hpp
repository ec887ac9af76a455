// Shared by test_tensor_parallel and test_fused_modules: synthesized integer projections (AutoRound's
// round-to-nearest + the host's packer, never the code under test), a host that loads only the
// build tree's plugins, running one layer through the selected implementation, and the error bound
// of the ABI's tolerance contract.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/host.hpp"
#include "core/loaded_layer.hpp"
#include "core/selection.hpp"
#include "core/tensor_parallel.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_order.hpp"
#include "quant/dequantize.hpp"
#include "quant/oracle.hpp"
#include "quant/pack.hpp"
#include "quant/packing_layout.hpp"
#include "quant/rtn.hpp"

namespace tp_test {

namespace h = incq::host;
namespace q = incq::host::quant;

enum class GIdx { None, Plain, ActOrder };  // no g_idx; g_idx = k / G; act-order permutation

struct IntCase {
  incq_packing packing;
  int bits;
  bool sym;
  int group;
  GIdx g_idx;
  std::string label() const {
    const char* g = g_idx == GIdx::None ? "" : g_idx == GIdx::Plain ? " g_idx" : " act-order";
    return q::packing_name(packing) + " int" + std::to_string(bits) + (sym ? " sym" : " asym") + " g" +
           std::to_string(group) + g;
  }
  incq_scheme scheme() const {
    incq_scheme s{};
    s.struct_size = sizeof s;
    s.family = INCQ_FAMILY_INT;
    s.bits = bits;
    s.group_size = group;
    s.sym = sym ? 1 : 0;
    s.packing = packing;
    s.act_bits = 16;
    s.act_family = INCQ_FAMILY_DENSE;
    s.act_sym = 1;
    s.has_g_idx = g_idx == GIdx::None ? 0 : 1;
    return s;
  }
};

// Every integer packing x bits x sym/asym x group (-1, 32, 128) x the g_idx variants asked for.
inline std::vector<IntCase> int_cases(std::vector<GIdx> g_variants, std::vector<int> groups = {-1, 32, 128}) {
  std::vector<IntCase> out;
  const std::pair<incq_packing, std::vector<int>> packings[] = {
      {INCQ_PACKING_GPTQ_V1, {2, 3, 4, 8}}, {INCQ_PACKING_GPTQ_V2, {2, 3, 4, 8}}, {INCQ_PACKING_AWQ, {4}}};
  for (const auto& [packing, bits_list] : packings)
    for (int bits : bits_list)
      for (bool sym : {true, false})
        for (int group : groups)
          for (GIdx g : g_variants) {
            if (g == GIdx::ActOrder && group == -1) continue;  // one group: act-order g_idx is all zeros
            out.push_back({packing, bits, sym, group, g});
          }
  return out;
}

// One synthesized projection: its packed checkpoint tensors and its exact dense weights.
struct IntLayer {
  std::string name;
  int64_t K = 0, N = 0;
  q::IntWeights w;
  std::vector<q::PackedTensor> tensors;  // qweight, qzeros, scales, [g_idx], [bias]
  std::vector<double> dense;             // [K*N], x·W orientation, exact
  std::vector<double> bias;              // [N] exact values, empty without bias

  h::ProjectionWeights view() const {
    h::ProjectionWeights p;
    p.name = name;
    p.in_features = K;
    p.out_features = N;
    for (const auto& t : tensors) p.tensors.push_back({t.name, q::tensor_view(t)});
    return p;
  }
};

inline IntLayer make_int_layer(const std::string& name, const IntCase& c, int64_t K, int64_t N, uint64_t seed,
                               bool with_bias, uint64_t g_idx_seed = 0) {
  IntLayer L;
  L.name = name;
  L.K = K;
  L.N = N;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(K * N));
  for (auto& v : w) v = dist(rng);
  std::vector<int32_t> g_idx;
  if (c.g_idx == GIdx::ActOrder) g_idx = q::make_act_order_g_idx(K, c.group, g_idx_seed ? g_idx_seed : seed + 17);
  L.w = q::quantize_rtn(w.data(), K, N, c.bits, c.group, c.sym, g_idx);
  L.tensors = q::pack_int(L.w, c.packing, c.g_idx != GIdx::None);
  L.dense = q::dequantize(L.w);
  if (with_bias) {
    q::PackedTensor b{"bias", INCQ_DTYPE_F16, {N}, std::vector<uint8_t>(static_cast<size_t>(N) * 2)};
    for (int64_t n = 0; n < N; ++n) {
      const uint16_t hb = incq::float_to_half(dist(rng));
      std::memcpy(&b.bytes[static_cast<size_t>(n) * 2], &hb, 2);
      L.bias.push_back(incq::half_to_float(hb));
    }
    L.tensors.push_back(std::move(b));
  }
  return L;
}

inline std::unique_ptr<h::Host> make_host() {
  h::HostSettings s;
  s.plugin_dirs = {INCQ_TEST_PLUGIN_DIR};  // no default dirs: only what this build tree made
  s.threads = 2;
  return std::make_unique<h::Host>(std::move(s));
}

// Forces one implementation (it must accept the layer, or selection is an error).
inline h::SelectionPolicy forced(const std::string& impl) {
  h::SelectionPolicy p;
  p.cli_backend = h::BackendChoice{impl, "test"};
  return p;
}

inline incq_layer_desc linear_desc(const std::string& name, const incq_scheme& scheme, int64_t K, int64_t N,
                                   bool has_bias) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = name.c_str();
  d.scheme = scheme;
  d.act_dtype = INCQ_DTYPE_F32;
  d.has_bias = has_bias ? 1 : 0;
  d.in_features = K;
  d.out_features = N;
  return d;
}

struct RunResult {
  std::vector<float> y;
  double tolerance = 0;
  std::string impl;
};

// Selects, loads and applies one Linear to x [M, K] (f32); y [M, N].
inline RunResult run_linear(h::Host& host, const h::SelectionPolicy& policy, const incq_layer_desc& desc,
                            const std::vector<h::BundleTensor>& bundle, const std::vector<float>& x, int64_t M) {
  const incq_device dev = host.device();
  const h::Selection sel = h::select_implementation(host.plugins().registry(), desc, dev, policy);
  auto layer = h::LoadedLayer::load(*sel.chosen, desc, dev, bundle, desc.scheme.packing);
  RunResult r;
  r.y.assign(static_cast<size_t>(M * desc.out_features), std::nanf(""));
  incq_tensor xt = h::cpu_tensor(const_cast<float*>(x.data()), INCQ_DTYPE_F32, {M, desc.in_features});
  incq_tensor yt = h::cpu_tensor(r.y.data(), INCQ_DTYPE_F32, {M, desc.out_features});
  layer->apply_linear(xt, yt, host.pool().exec());
  r.tolerance = layer->tolerance();
  r.impl = layer->impl_name();
  return r;
}

inline std::vector<float> random_x(int64_t M, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) v = dist(rng);
  return x;
}

// One rounding of y to f32 (verify.hpp's rule): u * |y| in the normal range, half the smallest
// subnormal below it.
inline double f32_rounding(double y) { return std::max(std::ldexp(1.0, -24) * std::fabs(y), std::ldexp(1.0, -150)); }

// Rows [k0, k0 + k) of a [K, N] matrix; columns [n0, n0 + n) of it.
inline std::vector<double> rows_of(const std::vector<double>& a, int64_t N, int64_t k0, int64_t k) {
  return std::vector<double>(a.begin() + k0 * N, a.begin() + (k0 + k) * N);
}
inline std::vector<double> cols_of(const std::vector<double>& a, int64_t rows, int64_t N, int64_t n0, int64_t n) {
  std::vector<double> out;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) out.push_back(a[static_cast<size_t>(i * N + n0 + j)]);
  return out;
}

}  // namespace tp_test
