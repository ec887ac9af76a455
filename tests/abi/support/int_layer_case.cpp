#include "support/int_layer_case.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_quant.hpp"
#include "quant/dequantize.hpp"
#include "quant/oracle.hpp"
#include "quant/pack.hpp"
#include "quant/packing_layout.hpp"
#include "quant/rtn.hpp"
#include "quant/unpack.hpp"

namespace incq::abi_test {

namespace quant = host::quant;

namespace {

// A tiny, fully specified generator: the cases are the same on every standard library.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed * 2654435761u + 1u) {}
  // Uniform in [-1, 1).
  float next() {
    state_ = state_ * 1664525u + 1013904223u;
    return static_cast<float>(state_ >> 8) / 8388608.0f - 1.0f;
  }

 private:
  uint32_t state_;
};

size_t element_size(int32_t dtype) { return incq::dtype_size(dtype); }

void store(int32_t dtype, float v, uint8_t* dst) {
  if (dtype == INCQ_DTYPE_F32) {
    std::memcpy(dst, &v, 4);
  } else {
    const uint16_t h = dtype == INCQ_DTYPE_F16 ? incq::float_to_half(v) : incq::float_to_bf16(v);
    std::memcpy(dst, &h, 2);
  }
}

double load(int32_t dtype, const uint8_t* src) {
  if (dtype == INCQ_DTYPE_F32) {
    float v;
    std::memcpy(&v, src, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, src, 2);
  return dtype == INCQ_DTYPE_F16 ? incq::half_to_float(h) : incq::bf16_to_float(h);
}

// Activations in the case's dtype, and the exact values they hold (what the oracle must see).
std::vector<double> fill_input(LayerCase& c, Lcg& rng) {
  const size_t n = static_cast<size_t>(c.rows * c.in_width);
  const size_t es = element_size(c.scheme.act_dtype);
  c.input.assign(n * es, 0);
  std::vector<double> exact(n);
  for (size_t i = 0; i < n; ++i) {
    store(c.scheme.act_dtype, rng.next(), c.input.data() + i * es);
    exact[i] = load(c.scheme.act_dtype, c.input.data() + i * es);
  }
  return exact;
}

const quant::PackedTensor& find(const std::vector<quant::PackedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  throw host::Error("packer wrote no tensor " + name);
}

// Quantizes a random [K, N] matrix, appends its tensors under prefix, and returns the weights as
// the oracle reads them back from those packed tensors.
std::vector<double> add_quantized_matrix(LayerCase& c, const std::string& prefix, int64_t K, int64_t N, Lcg& rng) {
  std::vector<float> w(static_cast<size_t>(K * N));
  for (auto& v : w) v = rng.next();
  const IntScheme& s = c.scheme;
  quant::IntWeights q = quant::quantize_rtn(w.data(), K, N, s.bits, s.group_size, s.sym);
  // A large asym case has groups whose zero is 0, which GPTQ v1 cannot store.
  if (!s.sym && s.packing == INCQ_PACKING_GPTQ_V1) quant::fit_gptq_v1_zero_range(q, w.data());
  const std::vector<quant::PackedTensor> packed = quant::pack_int(q, s.packing, /*with_g_idx=*/false);
  for (const auto& t : packed) c.tensors.push_back({prefix + t.name, t});

  const incq_tensor qweight = quant::tensor_view(find(packed, "qweight"));
  const incq_tensor qzeros = quant::tensor_view(find(packed, "qzeros"));
  const incq_tensor scales = quant::tensor_view(find(packed, "scales"));
  const quant::IntWeights read = quant::unpack_int(c.layer_name, qweight, qzeros, scales, nullptr, K, N, s.bits,
                                                   s.group_size, s.sym, s.packing);
  return quant::dequantize(read);
}

incq_layer_desc base_desc(const LayerCase& c, int32_t kind) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = kind;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = c.scheme.bits;
  d.scheme.group_size = c.scheme.group_size;
  d.scheme.sym = c.scheme.sym ? 1 : 0;
  d.scheme.packing = c.scheme.packing;
  d.scheme.act_bits = c.scheme.act_bits;
  if (c.scheme.act_bits == 8) {
    // W4A8 as INC's config resolves it: dynamic, symmetric, one int8 scale per token.
    d.scheme.act_family = INCQ_FAMILY_INT;
    d.scheme.act_dynamic = 1;
    d.scheme.act_group_size = -1;
    d.scheme.act_sym = 1;
  }
  d.act_dtype = c.scheme.act_dtype;
  return d;
}

// What a matmul of the layer sees as input: x itself (act_bits 16) or x' = Q(x) as the host's
// activation quantizer defines it, rows of K.
std::vector<double> matmul_input(const incq_scheme& scheme, const double* x, int64_t rows, int64_t K) {
  std::vector<double> out(x, x + rows * K);
  if (scheme.act_bits < 16) quant::quantize_activations(scheme, x, rows, K, /*input_global_scale=*/0, out.data());
  return out;
}

// The gated-SiLU MoE of quant::oracle_moe with each projection's input quantized: x' feeds gate and
// up, h' = Q(silu(g)*u) feeds down. mag covers the three matmuls to first order as oracle_moe
// derives it (each matmul's magnitude taken from the quantized input it actually multiplies); the
// quantizers are exact functions of their inputs that the implementation must share bit for bit.
void oracle_moe_quantized(const incq_scheme& scheme, const double* x, int64_t T, int64_t H, int64_t I,
                          const std::vector<quant::ExpertWeights>& experts, const int32_t* ids, const float* wts,
                          int top_k, double* y, double* mag) {
  std::fill(y, y + T * H, 0.0);
  std::fill(mag, mag + T * H, 0.0);
  std::vector<double> g(I), u(I), mg(I), mu(I), h(I), dh(I), d(H), md(H);
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<double> xq = matmul_input(scheme, x + t * H, 1, H);
    for (int j = 0; j < top_k; ++j) {
      const quant::ExpertWeights& ew = experts.at(static_cast<size_t>(ids[t * top_k + j]));
      const double wt = wts[t * top_k + j];
      quant::oracle_linear(xq.data(), 1, H, ew.gate.data(), I, nullptr, g.data(), mg.data());
      quant::oracle_linear(xq.data(), 1, H, ew.up.data(), I, nullptr, u.data(), mu.data());
      for (int64_t i = 0; i < I; ++i) {
        const double sig = 1.0 / (1.0 + std::exp(-g[i]));
        const double silu = g[i] * sig, dsilu = sig * (1.0 + g[i] * (1.0 - sig));
        h[i] = silu * u[i];
        dh[i] = std::fabs(dsilu * u[i]) * mg[i] + std::fabs(silu) * mu[i];  // |δh_i| / tol
      }
      const std::vector<double> hq = matmul_input(scheme, h.data(), 1, I);
      quant::oracle_linear(hq.data(), 1, I, ew.down.data(), H, nullptr, d.data(), md.data());
      for (int64_t n = 0; n < H; ++n) {
        double carried = 0;  // gate/up errors carried through down
        for (int64_t i = 0; i < I; ++i) carried += dh[i] * std::fabs(ew.down[i * H + n]);
        y[t * H + n] += wt * d[n];
        mag[t * H + n] += std::fabs(wt) * (md[n] + carried);
      }
    }
  }
}

incq_tensor cpu_view(const void* data, int32_t dtype, int64_t rows, int64_t cols) {
  return host::cpu_tensor(const_cast<void*>(data), dtype, {rows, cols});
}

}  // namespace

std::string describe(const IntScheme& s) {
  return fmt::format("bits={} {} packing={} group={} act={} act_bits={}", s.bits, s.sym ? "sym" : "asym",
                     quant::packing_name(s.packing), s.group_size, incq::dtype_name(s.act_dtype), s.act_bits);
}

std::vector<incq_named_tensor> LayerCase::named_views() const {
  std::vector<incq_named_tensor> out;
  for (const auto& t : tensors) out.push_back({t.name.c_str(), quant::tensor_view(t.packed)});
  return out;
}

std::vector<host::BundleTensor> LayerCase::bundle_tensors() const {
  std::vector<host::BundleTensor> out;
  for (const auto& t : tensors) out.push_back({t.name, quant::tensor_view(t.packed)});
  return out;
}

incq_tensor LayerCase::input_view() const { return cpu_view(input.data(), scheme.act_dtype, rows, in_width); }
incq_tensor LayerCase::ids_view() const { return cpu_view(topk_ids.data(), INCQ_DTYPE_I32, rows, fields.top_k); }
incq_tensor LayerCase::weights_view() const {
  return cpu_view(topk_weights.data(), INCQ_DTYPE_F32, rows, fields.top_k);
}

incq_layer_desc LayerCase::desc() const {
  incq_layer_desc d = fields;
  d.name = layer_name.c_str();
  return d;
}

LayerCase make_linear_case(const IntScheme& scheme, int64_t M, int64_t K, int64_t N, uint32_t seed) {
  LayerCase c;
  c.layer_name = "model.layers.0.mlp.down_proj";
  c.scheme = scheme;
  c.rows = M;
  c.in_width = K;
  c.out_width = N;
  Lcg rng(seed);
  const std::vector<double> w = add_quantized_matrix(c, "", K, N, rng);
  const std::vector<double> x = fill_input(c, rng);
  c.fields = base_desc(c, INCQ_MODULE_LINEAR);
  c.fields.in_features = K;
  c.fields.out_features = N;
  c.expected.resize(static_cast<size_t>(M * N));
  c.magnitude.resize(c.expected.size());
  const std::vector<double> xq = matmul_input(c.fields.scheme, x.data(), M, K);
  quant::oracle_linear(xq.data(), M, K, w.data(), N, nullptr, c.expected.data(), c.magnitude.data());
  return c;
}

LayerCase make_moe_case(const IntScheme& scheme, int64_t T, int64_t hidden, int64_t intermediate,
                        int64_t num_experts, int top_k, uint32_t seed) {
  LayerCase c;
  c.layer_name = "model.layers.0.mlp.experts";
  c.scheme = scheme;
  c.rows = T;
  c.in_width = hidden;
  c.out_width = hidden;
  Lcg rng(seed);
  std::vector<quant::ExpertWeights> experts(static_cast<size_t>(num_experts));
  for (int64_t e = 0; e < num_experts; ++e) {
    const std::string p = std::to_string(e) + ".";
    experts[e].gate = add_quantized_matrix(c, p + "gate_proj.", hidden, intermediate, rng);
    experts[e].up = add_quantized_matrix(c, p + "up_proj.", hidden, intermediate, rng);
    experts[e].down = add_quantized_matrix(c, p + "down_proj.", intermediate, hidden, rng);
  }
  const std::vector<double> x = fill_input(c, rng);
  // Token t routes to experts t, t+1, ... (mod E): every expert is used, one token repeats none.
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < top_k; ++j) {
      c.topk_ids.push_back(static_cast<int32_t>((t + j) % num_experts));
      c.topk_weights.push_back(0.25f + 0.5f * static_cast<float>(j) / static_cast<float>(top_k));
    }
  }
  c.fields = base_desc(c, INCQ_MODULE_MOE);
  c.fields.in_features = hidden;
  c.fields.out_features = hidden;
  c.fields.num_experts = num_experts;
  c.fields.hidden_size = hidden;
  c.fields.intermediate_size = intermediate;
  c.fields.top_k = top_k;
  c.expected.resize(static_cast<size_t>(T * hidden));
  c.magnitude.resize(c.expected.size());
  if (scheme.act_bits < 16) {
    oracle_moe_quantized(c.fields.scheme, x.data(), T, hidden, intermediate, experts, c.topk_ids.data(),
                         c.topk_weights.data(), top_k, c.expected.data(), c.magnitude.data());
  } else {
    quant::oracle_moe(x.data(), T, hidden, intermediate, experts, c.topk_ids.data(), c.topk_weights.data(), top_k,
                      c.expected.data(), c.magnitude.data());
  }
  return c;
}

std::vector<uint8_t> output_buffer(const LayerCase& c) {
  return std::vector<uint8_t>(static_cast<size_t>(c.rows * c.out_width) * element_size(c.scheme.act_dtype), 0);
}

incq_tensor output_view(const LayerCase& c, std::vector<uint8_t>& buffer) {
  return cpu_view(buffer.data(), c.scheme.act_dtype, c.rows, c.out_width);
}

std::string contract_violation(const LayerCase& c, const std::vector<uint8_t>& output, double tolerance) {
  // Unit roundoff and smallest subnormal of the output dtype.
  double u = std::ldexp(1.0, -24), smallest = std::ldexp(1.0, -149);
  if (c.scheme.act_dtype == INCQ_DTYPE_F16) u = std::ldexp(1.0, -11), smallest = std::ldexp(1.0, -24);
  if (c.scheme.act_dtype == INCQ_DTYPE_BF16) u = std::ldexp(1.0, -8), smallest = std::ldexp(1.0, -133);
  const size_t es = element_size(c.scheme.act_dtype);
  size_t failures = 0, worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < c.expected.size(); ++i) {
    const double y = load(c.scheme.act_dtype, output.data() + i * es);
    const double budget = tolerance * c.magnitude[i];
    const double bound = budget + std::max(u * (std::fabs(c.expected[i]) + budget), smallest / 2);
    const double err = std::fabs(y - c.expected[i]);
    if (!(err <= bound)) ++failures;  // written so that NaN fails
    const double ratio = std::isnan(err) ? INFINITY : err / bound;
    if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
  }
  if (failures == 0) return "";
  return fmt::format("{} of {} outputs outside tolerance {}; worst at [{}, {}]: got {}, oracle {}, error/bound {}",
                     failures, c.expected.size(), tolerance, worst / c.out_width, worst % c.out_width,
                     load(c.scheme.act_dtype, output.data() + worst * es), c.expected[worst], worst_ratio);
}

incq_device cpu_device() {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_CPU;
  return d;
}

incq_exec serial_exec() {
  incq_exec e{};
  e.struct_size = sizeof e;
  e.max_threads = 1;
  return e;
}

}  // namespace incq::abi_test
