// Test-side support for the fast float-format differential tests (test_inc_cpu_float_fast*.cpp,
// test_inc_cpu_moe_fast*.cpp): seeded FP8 / MX / NV checkpoints built as an exporter writes them,
// layer descriptors, running an implementation through the plugin's ABI, and the error budget
// max |y_fast - y_ref| <= tol_fast * mag + tol_ref * mag + both output roundings, with mag =
// sum |x' w| + |b| taken from the reference's exact weight decoding.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "inc_cpu_plugin_harness.hpp"
#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace float_fast_test {

using inc_cpu_harness::Activations;
using inc_cpu_harness::BundleBuilder;

struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(gen); }
  int integer(int a, int b) { return std::uniform_int_distribution<int>(a, b)(gen); }
};

// Float values stored in dtype (F32 / BF16 / F16).
inline void add_floats(BundleBuilder& b, const std::string& name, int32_t dtype, std::vector<int64_t> shape,
                       const std::vector<float>& v) {
  if (dtype == INCQ_DTYPE_F32) {
    b.add(name, dtype, std::move(shape), v);
    return;
  }
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    h[i] = dtype == INCQ_DTYPE_BF16 ? incq::float_to_bf16(v[i]) : incq::float_to_half(v[i]);
  b.add(name, dtype, std::move(shape), h);
}

// A scale: random sign, magnitude 2^[-6, 1) with a fractional mantissa.
inline float random_scale(Rng& r) {
  const float s = static_cast<float>(std::ldexp(r.uniform(1.0, 2.0), r.integer(-6, 0)));
  return r.integer(0, 3) == 0 ? -s : s;
}

inline void fill_activations(Activations& x, Rng& r, bool zero_row = true) {
  for (int64_t m = 0; m < x.rows; ++m)
    for (int64_t k = 0; k < x.cols; ++k) x.set(m, k, (zero_row && m == 1) ? 0.0 : r.uniform(-2.0, 2.0));
}

inline double read_out(const Activations& y, int64_t m, int64_t n) { return y.get(m, n); }

// Runs `impl` on desc/bundle; returns the status, the message in *msg and y.
inline incq_status run_linear(const char* impl_name, const incq_layer_desc& desc, const incq_weight_bundle* bundle,
                              Activations& x, Activations& y, std::string* msg,
                              const incq_exec* exec = nullptr) {
  const incq_impl_desc* impl = inc_cpu_harness::find_impl(impl_name);
  if (impl == nullptr) {
    *msg = std::string("implementation not registered: ") + impl_name;
    return INCQ_ERR_UNAVAILABLE;
  }
  inc_cpu_harness::Layer layer(impl, desc);
  if (layer.status != INCQ_OK || layer.load(bundle) != INCQ_OK) {
    *msg = layer.message;
    return layer.status;
  }
  incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
  incq_tensor xt = x.tensor(), yt = y.tensor();
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = impl->apply_linear(layer.handle, &xt, &yt, exec ? exec : &serial, &err);
  *msg = err.message;
  return s;
}

inline incq_status run_moe(const char* impl_name, const incq_layer_desc& desc, const incq_weight_bundle* bundle,
                           Activations& x, const std::vector<int32_t>& ids, const std::vector<float>& wts,
                           Activations& y, std::string* msg, const incq_exec* exec = nullptr) {
  const incq_impl_desc* impl = inc_cpu_harness::find_impl(impl_name);
  if (impl == nullptr) {
    *msg = std::string("implementation not registered: ") + impl_name;
    return INCQ_ERR_UNAVAILABLE;
  }
  inc_cpu_harness::Layer layer(impl, desc);
  if (layer.status != INCQ_OK || layer.load(bundle) != INCQ_OK) {
    *msg = layer.message;
    return layer.status;
  }
  incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
  incq_tensor xt = x.tensor(), yt = y.tensor();
  const int64_t T = x.rows, k = desc.top_k;
  incq_tensor it = inc_cpu_harness::make_tensor(ids.data(), INCQ_DTYPE_I32, {T, k});
  incq_tensor wt = inc_cpu_harness::make_tensor(wts.data(), INCQ_DTYPE_F32, {T, k});
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = impl->apply_moe(layer.handle, &xt, &it, &wt, &yt, exec ? exec : &serial, &err);
  *msg = err.message;
  return s;
}

// Unit roundoff of an output dtype.
inline double unit_roundoff(int32_t dtype) {
  return dtype == INCQ_DTYPE_F32 ? std::ldexp(1.0, -24) : dtype == INCQ_DTYPE_F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
}

// Compares y_fast with y_ref output by output; returns "" or the worst violation.
inline std::string compare(const Activations& fast, const Activations& ref, const std::vector<double>& mag,
                           double tol_fast, double tol_ref) {
  const double u = unit_roundoff(fast.dtype);
  size_t failures = 0;
  double worst = -1;
  std::string where;
  for (int64_t m = 0; m < fast.rows; ++m) {
    for (int64_t n = 0; n < fast.cols; ++n) {
      const double a = fast.get(m, n), b = ref.get(m, n);
      const double budget = (tol_fast + tol_ref) * mag[static_cast<size_t>(m * fast.cols + n)];
      const double bound = budget + 2 * u * (std::fabs(b) + budget) + 1e-30;
      const double err = std::fabs(a - b);
      if (!(err <= bound)) ++failures;
      const double ratio = std::isnan(err) ? INFINITY : err / bound;
      if (ratio > worst) {
        worst = ratio;
        where = "[" + std::to_string(m) + ", " + std::to_string(n) + "] fast " + std::to_string(a) + " ref " +
                std::to_string(b) + " bound " + std::to_string(bound);
      }
    }
  }
  if (failures == 0) return "";
  return std::to_string(failures) + " outputs outside the bound; worst (error/bound " + std::to_string(worst) +
         ") at " + where;
}

}  // namespace float_fast_test

namespace float_fast_test {

enum class Proj { Gate, Up, Down };

// mag[t, n] for the MoE contract (plugin_api.h), to first order as the host's oracle derives it:
// sum_j |w_tj| (sum_i |h_i| |D_ni| + |bd_n| + sum_i dh_i |D_ni| + |d_n|), dh_i = |silu'(g_i) u_i| mg_i
// + |silu(g_i)| mu_i + |h_i|. `act_factor` (2 when activations are quantized) bounds |x'| / |x| and
// |h'| / |h| elementwise for the 4/8-bit grids used here.
template <typename WeightAt, typename BiasAt>
std::vector<double> moe_magnitudes(const Activations& x, int64_t H, int64_t I, const std::vector<int32_t>& ids,
                                   const std::vector<float>& wts, int64_t top_k, WeightAt&& w, BiasAt&& bias,
                                   double act_factor) {
  const int64_t T = x.rows;
  std::vector<double> mag(static_cast<size_t>(T * H), 0.0);
  std::vector<double> g(I), u(I), mg(I), mu(I), h(I), dh(I);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < top_k; ++j) {
      const int e = ids[static_cast<size_t>(t * top_k + j)];
      const double wt = std::fabs(wts[static_cast<size_t>(t * top_k + j)]);
      for (int64_t i = 0; i < I; ++i) {
        double gs = bias(e, Proj::Gate, i), us = bias(e, Proj::Up, i);
        double gm = std::fabs(gs), um = std::fabs(us);
        for (int64_t k = 0; k < H; ++k) {
          const double xv = x.get(t, k);
          gs += xv * w(e, Proj::Gate, i, k);
          us += xv * w(e, Proj::Up, i, k);
          gm += act_factor * std::fabs(xv * w(e, Proj::Gate, i, k));
          um += act_factor * std::fabs(xv * w(e, Proj::Up, i, k));
        }
        const double sig = 1.0 / (1.0 + std::exp(-gs));
        const double silu = gs * sig, dsilu = sig * (1.0 + gs * (1.0 - sig));
        h[static_cast<size_t>(i)] = silu * us;
        dh[static_cast<size_t>(i)] = std::fabs(dsilu * us) * gm + std::fabs(silu) * um + std::fabs(silu * us);
      }
      for (int64_t n = 0; n < H; ++n) {
        double md = std::fabs(bias(e, Proj::Down, n)), carried = 0, dn = bias(e, Proj::Down, n);
        for (int64_t i = 0; i < I; ++i) {
          const double dw = w(e, Proj::Down, n, i);
          md += act_factor * std::fabs(h[static_cast<size_t>(i)] * dw);
          carried += dh[static_cast<size_t>(i)] * std::fabs(dw);
          dn += h[static_cast<size_t>(i)] * dw;
        }
        mag[static_cast<size_t>(t * H + n)] += wt * (md + carried + std::fabs(dn));
      }
    }
  }
  return mag;
}

// Routing with every corner: token 0 repeats an expert in its top-k, the last expert is never chosen
// (empty), weights of both signs.
inline void make_routing(int64_t T, int64_t E, int64_t top_k, Rng& r, std::vector<int32_t>* ids,
                         std::vector<float>* wts) {
  ids->assign(static_cast<size_t>(T * top_k), 0);
  wts->assign(static_cast<size_t>(T * top_k), 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < top_k; ++j) {
      int32_t e = r.integer(0, static_cast<int>(E) - 2);
      if (t == 0 && j == 1) e = (*ids)[static_cast<size_t>(t * top_k)];
      (*ids)[static_cast<size_t>(t * top_k + j)] = e;
      (*wts)[static_cast<size_t>(t * top_k + j)] = static_cast<float>(r.uniform(-0.3, 1.0));
    }
  }
}

}  // namespace float_fast_test

namespace float_fast_test {

// A block-scaled scheme: family + bits pick MXFP4 / MXFP8 / NVFP4 / MXINT4; act_bits < 16 turns on
// the scheme's dynamic activation quantization with the weight's group as act group.
struct MxScheme {
  int32_t family = INCQ_FAMILY_MX_FP;
  int32_t bits = 4;
  int32_t act_bits = 16;
  bool bias = false;
  int64_t group() const { return family == INCQ_FAMILY_NV_FP ? 16 : 32; }
  bool fp8_elements() const { return family == INCQ_FAMILY_MX_FP && bits == 8; }
  std::string name() const {
    return std::string(family == INCQ_FAMILY_NV_FP ? "NVFP4" : family == INCQ_FAMILY_MX_INT ? "MXINT4"
                       : bits == 8                 ? "MXFP8"
                                                   : "MXFP4") +
           (act_bits < 16 ? " W" + std::to_string(bits) + "A" + std::to_string(act_bits) : " weight-only") +
           (bias ? " bias" : "");
  }
};

inline incq_scheme mx_scheme(const MxScheme& s) {
  incq_scheme sc{};
  sc.struct_size = sizeof sc;
  sc.family = s.family;
  sc.bits = s.bits;
  sc.group_size = static_cast<int32_t>(s.group());
  sc.sym = 1;
  sc.packing = INCQ_PACKING_LLM_COMPRESSOR;
  sc.act_bits = s.act_bits;
  sc.act_dynamic = s.act_bits < 16 ? 1 : 0;
  sc.weight_dtype = s.fp8_elements() ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8;
  sc.act_family = s.act_bits < 16 ? s.family : INCQ_FAMILY_DENSE;
  sc.act_group_size = s.act_bits < 16 ? static_cast<int32_t>(s.group()) : 0;
  sc.act_sym = 1;
  return sc;
}

// `<prefix>weight_packed` (or `weight` for MXFP8), `weight_scale`, NVFP4's global scales and bias, as
// llm_compressor writes them. Scales of both signs where the encoding has one (E4M3), a zero row.
inline void add_mx_matrix(BundleBuilder& b, const std::string& p, int64_t K, int64_t N, const MxScheme& s, Rng& r) {
  const int64_t G = K / s.group();
  if (s.fp8_elements()) {
    std::vector<uint8_t> codes(static_cast<size_t>(N * K));
    for (auto& c : codes) {
      do c = static_cast<uint8_t>(r.integer(0, 255));
      while ((c & 0x7F) == 0x7F);
    }
    b.add(p + "weight", INCQ_DTYPE_F8_E4M3, {N, K}, codes);
  } else {
    std::vector<uint8_t> packed(static_cast<size_t>(N * K / 2));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < K / 2; ++j) packed[static_cast<size_t>(n * K / 2 + j)] = n == 1 ? 0 : static_cast<uint8_t>(r.integer(0, 255));
    b.add(p + "weight_packed", INCQ_DTYPE_U8, {N, K / 2}, packed);
  }
  std::vector<uint8_t> scales(static_cast<size_t>(N * G));
  for (auto& c : scales) {
    if (s.family == INCQ_FAMILY_NV_FP) {
      // E4M3 scales 2^-7 .. 2^0 of both signs, a few subnormals (small enough for F16 outputs
      // of three chained projections).
      const int e = r.integer(0, 7), m = r.integer(0, 7);
      c = static_cast<uint8_t>((r.integer(0, 3) == 0 ? 0x80 : 0) | (e << 3) | m);
    } else {
      c = static_cast<uint8_t>(r.integer(118, 126));  // 2^-9 .. 2^-1
    }
  }
  b.add(p + "weight_scale", s.family == INCQ_FAMILY_NV_FP ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8, {N, G}, scales);
  if (s.family == INCQ_FAMILY_NV_FP) {
    b.add(p + "weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{static_cast<float>(r.uniform(0.5, 3))});
    b.add(p + "input_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{static_cast<float>(r.uniform(20, 200))});
  }
  if (s.bias) {
    std::vector<float> bias(static_cast<size_t>(N));
    for (float& v : bias) v = static_cast<float>(r.uniform(-1, 1));
    add_floats(b, p + "bias", INCQ_DTYPE_F16, {N}, bias);
  }
}

}  // namespace float_fast_test
