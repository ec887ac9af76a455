#include "core/oracle_layer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/act_quant.hpp"
#include "quant/dequantize.hpp"
#include "quant/fp8_weights.hpp"
#include "quant/mx_weights.hpp"
#include "quant/nv_weights.hpp"
#include "quant/oracle.hpp"
#include "quant/unpack.hpp"

namespace incq::host {

namespace {

double read_scalar(const st::TensorView& t, const std::string& layer) {
  if (t.dtype != INCQ_DTYPE_F32 || t.nbytes != 4)
    throw Error(fmt::format("{}: layer '{}': '{}' must be one F32 value", t.file, layer, t.name));
  float v;
  std::memcpy(&v, t.data, 4);
  return v;
}

std::vector<double> read_bias(const st::Checkpoint& ckpt, const ProjectionTensors& p) {
  if (!p.tensors.count("bias")) return {};
  const st::TensorView view = projection_view(ckpt, p, "bias");
  const st::TensorView* t = &view;
  if (t->dtype != INCQ_DTYPE_F32 && t->dtype != INCQ_DTYPE_F16 && t->dtype != INCQ_DTYPE_BF16)
    throw Error(fmt::format("{}: layer '{}': bias '{}' has dtype {}, expected F16, BF16 or F32", t->file, p.name,
                            t->name, incq::dtype_name(t->dtype)));
  const size_t n = t->nbytes / incq::dtype_size(t->dtype);
  if (t->shape.size() != 1 || static_cast<int64_t>(n) != p.out_features)
    throw Error(fmt::format("{}: layer '{}': bias '{}' must have shape [{}]", t->file, p.name, t->name, p.out_features));
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (t->dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, t->data + i * 4, 4);
      out[i] = f;
    } else {
      uint16_t h;
      std::memcpy(&h, t->data + i * 2, 2);
      out[i] = t->dtype == INCQ_DTYPE_BF16 ? incq::bf16_to_float(h) : incq::half_to_float(h);
    }
  }
  return out;
}

std::vector<double> read_weights(const st::Checkpoint& ckpt, const ProjectionTensors& p, const LayerScheme& s) {
  auto tensor = [&](const char* role) { return projection_tensor(ckpt, p, role); };
  const int64_t K = p.in_features, N = p.out_features;
  switch (s.scheme.family) {
    case INCQ_FAMILY_INT: {
      incq_tensor gidx{};
      const bool has_g = p.tensors.count("g_idx") > 0;
      if (has_g) gidx = tensor("g_idx");
      return quant::dequantize(quant::unpack_int(p.name, tensor("qweight"), tensor("qzeros"), tensor("scales"),
                                                 has_g ? &gidx : nullptr, K, N, s.scheme.bits, s.scheme.group_size,
                                                 s.scheme.sym != 0, static_cast<incq_packing>(s.scheme.packing)));
    }
    case INCQ_FAMILY_FP8:
      return quant::dequantize_fp8(p.name, tensor("weight"),
                                   tensor(p.tensors.count("weight_scale_inv") ? "weight_scale_inv" : "weight_scale"),
                                   s.scheme, K, N);
    case INCQ_FAMILY_MX_FP:
    case INCQ_FAMILY_MX_INT:
      return quant::dequantize_mx(p.name, tensor(quant::float_weight_tensor_name(s.scheme)), tensor("weight_scale"),
                                  s.scheme, K, N);
    case INCQ_FAMILY_NV_FP: {
      if (!p.tensors.count("weight_global_scale"))
        throw Error(fmt::format("{}: layer '{}': missing tensor '{}.weight_global_scale' required by {}", ckpt.dir(),
                                p.name, p.name, s.describe()));
      return quant::dequantize_nvfp4(p.name, tensor("weight_packed"), tensor("weight_scale"),
                                     tensor("weight_global_scale"), s.scheme, K, N);
    }
    default:
      throw Error(fmt::format("layer '{}': the oracle has no reader for {}", p.name, s.describe()));
  }
}

// Adds where the tensors live to an oracle reader's message, so it names the file too.
[[noreturn]] void rethrow_with_files(const st::Checkpoint& ckpt, const ProjectionTensors& p, const std::exception& e) {
  std::string files;
  for (const auto& [role, name] : p.tensors) {
    const std::string& f = ckpt.find(name)->file;
    if (files.find(f) == std::string::npos) files += (files.empty() ? "" : ", ") + f;
  }
  throw Error(fmt::format("{}: {}", files, e.what()));
}

std::vector<double> quantized(const incq_scheme& s, const double* x, int64_t M, int64_t K, double g) {
  std::vector<double> out(static_cast<size_t>(M * K));
  if (s.act_bits >= 16) {
    std::copy(x, x + M * K, out.begin());
  } else {
    quant::quantize_activations(s, x, M, K, g, out.data());
  }
  return out;
}

}  // namespace

OracleProjection read_oracle_projection(const st::Checkpoint& ckpt, const ProjectionTensors& p, const LayerScheme& s) {
  OracleProjection o;
  try {
    o.W = read_weights(ckpt, p, s);
  } catch (const Error& e) {
    rethrow_with_files(ckpt, p, e);
  }
  o.bias = read_bias(ckpt, p);
  if (p.tensors.count("input_global_scale"))
    o.input_global_scale = read_scalar(projection_view(ckpt, p, "input_global_scale"), p.name);
  if (s.scheme.act_bits < 16 && s.scheme.act_family == INCQ_FAMILY_NV_FP && !(o.input_global_scale > 0))
    throw Error(fmt::format("{}: layer '{}': {} quantizes activations with the static 'input_global_scale', which is "
                            "missing or not positive", ckpt.dir(), p.name, s.describe()));
  return o;
}

void oracle_linear_output(const incq_scheme& s, const OracleProjection& w, const double* x, int64_t M, int64_t K,
                          int64_t N, double* y, double* mag) {
  const std::vector<double> xq = quantized(s, x, M, K, w.input_global_scale);
  quant::oracle_linear(xq.data(), M, K, w.W.data(), N, w.bias.empty() ? nullptr : w.bias.data(), y, mag);
}

void oracle_moe_output(const incq_scheme& s, const std::vector<OracleProjection>& proj, const double* x, int64_t T,
                       int64_t H, int64_t I, const int32_t* ids, const float* wts, int top_k, double* y, double* mag) {
  if (s.act_bits >= 16) {
    std::vector<quant::ExpertWeights> experts(proj.size() / 3);
    for (size_t e = 0; e < experts.size(); ++e)
      experts[e] = {proj[e * 3].W, proj[e * 3 + 1].W, proj[e * 3 + 2].W};
    quant::oracle_moe(x, T, H, I, experts, ids, wts, top_k, y, mag);
    return;
  }
  // With activation quantization: x' feeds gate and up, h' = Q(silu(g) * u) feeds down. The bound
  // covers the three matmuls (first order, as quant::oracle_moe derives it); the quantization
  // steps are exact functions of their inputs, shared with the implementation by contract.
  std::fill(y, y + T * H, 0.0);
  std::fill(mag, mag + T * H, 0.0);
  std::vector<double> g(I), u(I), h(I), mg(I), mu(I), d(H), md(H);
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < top_k; ++j) {
      const int32_t e = ids[t * top_k + j];
      const double wt = wts[t * top_k + j];
      const OracleProjection &pg = proj[e * 3], &pu = proj[e * 3 + 1], &pd = proj[e * 3 + 2];
      const std::vector<double> xq = quantized(s, x + t * H, 1, H, pg.input_global_scale);
      quant::oracle_linear(xq.data(), 1, H, pg.W.data(), I, nullptr, g.data(), mg.data());
      quant::oracle_linear(xq.data(), 1, H, pu.W.data(), I, nullptr, u.data(), mu.data());
      std::vector<double> dh(I);
      for (int64_t i = 0; i < I; ++i) {
        const double sg = 1.0 / (1.0 + std::exp(-g[i]));
        h[i] = g[i] * sg * u[i];
        // |d silu/dg| <= 1.1 everywhere.
        dh[i] = 1.1 * mg[i] * std::fabs(u[i]) + std::fabs(g[i] * sg) * mu[i];
      }
      const std::vector<double> hq = quantized(s, h.data(), 1, I, pd.input_global_scale);
      quant::oracle_linear(hq.data(), 1, I, pd.W.data(), H, nullptr, d.data(), md.data());
      for (int64_t n = 0; n < H; ++n) {
        double prop = 0;
        for (int64_t i = 0; i < I; ++i) prop += dh[i] * std::fabs(pd.W[i * H + n]);
        y[t * H + n] += wt * d[n];
        mag[t * H + n] += std::fabs(wt) * (md[n] + prop);
      }
    }
  }
}

}  // namespace incq::host
