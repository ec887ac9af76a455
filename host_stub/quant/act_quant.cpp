#include "quant/act_quant.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/float_formats.hpp"
#include "quant/mx_element.hpp"
#include "quant/nv_block.hpp"

namespace incq::host::quant {
namespace {

// One group of fp32 activations, quantized in place to x' (stored as doubles).
using GroupFn = void (*)(const float* x, int64_t n, double* out, const incq_scheme& s, float g);

float group_amax(const float* x, int64_t n) {
  float a = 0;
  for (int64_t i = 0; i < n; ++i) a = std::max(a, std::fabs(x[i]));
  return a;
}

void int_group(const float* x, int64_t n, double* out, const incq_scheme& s, float) {
  const int qmax = (1 << (s.act_bits - 1)) - 1;
  const float scale = group_amax(x, n) / static_cast<float>(qmax);  // fp32 division
  for (int64_t i = 0; i < n; ++i) {
    if (scale == 0.0f) {
      out[i] = 0.0;
      continue;
    }
    const float r = std::nearbyint(x[i] / scale);  // fp32 division, ties to even
    const float q = std::clamp(r, static_cast<float>(-qmax - 1), static_cast<float>(qmax));
    out[i] = static_cast<double>(q) * scale;
  }
}

void fp8_group(const float* x, int64_t n, double* out, const incq_scheme&, float) {
  // AutoRound data_type/fp8.py quant_fp8_sym: scale = max / finfo.max, floored at 1/(448*512).
  const float min_scale = static_cast<float>(1.0 / (448.0 * 512.0));
  const float scale = std::max(group_amax(x, n) / 448.0f, min_scale);
  for (int64_t i = 0; i < n; ++i) out[i] = decode_e4m3(encode_e4m3(x[i] / scale)) * scale;
}

void mx_group(const float* x, int64_t n, double* out, const incq_scheme& s, float) {
  const MxElement el = mx_element(s.act_family, s.act_bits, "activations");
  const int E = mx_shared_exponent(group_amax(x, n), el);
  for (int64_t i = 0; i < n; ++i) out[i] = std::ldexp(mx_round_element(std::ldexp(static_cast<double>(x[i]), -E), el), E);
}

void nv_group(const float* x, int64_t n, double* out, const incq_scheme&, float g) {
  const NvBlockScale b = nv_block_scale(group_amax(x, n), g);
  for (int64_t i = 0; i < n; ++i) out[i] = decode_e2m1(nv_quantize_element(x[i], b)) * static_cast<double>(b.factor);
}

GroupFn group_fn(const incq_scheme& s, double input_global_scale) {
  switch (s.act_family) {
    case INCQ_FAMILY_INT:
      if (s.act_bits < 2 || s.act_bits > 8)
        throw Error(fmt::format("activations: INT with {} bits, expected 2..8", s.act_bits));
      return int_group;
    case INCQ_FAMILY_FP8:
      if (s.act_bits != 8) throw Error(fmt::format("activations: FP8 with {} bits, expected 8", s.act_bits));
      return fp8_group;
    case INCQ_FAMILY_MX_FP:
    case INCQ_FAMILY_MX_INT:
      mx_element(s.act_family, s.act_bits, "activations");  // throws when unsupported
      return mx_group;
    case INCQ_FAMILY_NV_FP:
      if (s.act_bits != 4) throw Error(fmt::format("activations: NV_FP with {} bits, expected 4", s.act_bits));
      if (!std::isfinite(input_global_scale) || input_global_scale < 0)
        throw Error(fmt::format("activations: input_global_scale {} must be finite and >= 0", input_global_scale));
      return nv_group;
    default:
      throw Error(fmt::format("activations: act_family {} is not supported", s.act_family));
  }
}

}  // namespace

void quantize_activations(const incq_scheme& scheme, const double* x, int64_t M, int64_t K, double input_global_scale,
                          double* x_out) {
  if (M < 0 || K < 0) throw Error(fmt::format("activations: M {} and K {} must be >= 0", M, K));
  if (scheme.act_bits >= 16 || scheme.act_family == INCQ_FAMILY_DENSE) {
    std::copy(x, x + M * K, x_out);
    return;
  }
  if (scheme.act_group_size == 0 || scheme.act_group_size < -1)
    throw Error(fmt::format("activations: act_group_size {}, expected -1 or positive", scheme.act_group_size));
  const GroupFn fn = group_fn(scheme, input_global_scale);
  const int64_t G = scheme.act_group_size == -1 ? K : scheme.act_group_size;
  const float g = static_cast<float>(input_global_scale);  // stored as F32 in the checkpoint
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) row[static_cast<size_t>(k)] = static_cast<float>(x[m * K + k]);
    for (int64_t k0 = 0; k0 < K; k0 += G) fn(row.data() + k0, std::min(G, K - k0), x_out + m * K + k0, scheme, g);
  }
}

}  // namespace incq::host::quant
