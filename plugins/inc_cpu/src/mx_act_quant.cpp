#include "mx_act_quant.hpp"

#include <algorithm>
#include <cmath>

#include "enum_names.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_cpu {
namespace {

void mx_block(const ActQuant& q, double* x, int64_t n) {
  double amax = 0.0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  // mxfp.py quant_mx: where(max == 0, 1, log2(max)), floored.
  const int e = amax == 0.0 ? 1 : floor_log2(amax);
  const int shared_exp = std::clamp(e - q.element.emax, -127, 127);
  for (int64_t i = 0; i < n; ++i) {
    const double t = std::ldexp(x[i], -shared_exp);
    x[i] = std::ldexp(round_to_element(t, q.element), shared_exp);
  }
}

float reciprocal_or_zero(float v) { return v == 0.0f ? 0.0f : 1.0f / v; }  // nvfp.py get_reciprocal

void nv_block(const ActQuant& q, double* x, int64_t n) {
  // Plain float arithmetic on purpose: each line is one fp32 operation of ref_nvfp4_quant.
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(static_cast<float>(x[i])));
  const float gs = q.global_scale;
  const float sixth = static_cast<float>(1.0 / 6.0);  // torch casts the Python scalar to fp32
  float s = gs * (amax * sixth);
  s = std::clamp(s, -448.0f, 448.0f);
  s = round_to_e4m3(s);
  const float out_scale = reciprocal_or_zero(s * reciprocal_or_zero(gs));
  const float back = reciprocal_or_zero(out_scale);
  for (int64_t i = 0; i < n; ++i) {
    const float scaled = std::clamp(static_cast<float>(x[i]) * out_scale, -6.0f, 6.0f);
    const float e = static_cast<float>(round_to_element(scaled, kE2M1Format));
    x[i] = static_cast<double>(e) * static_cast<double>(back);
  }
}

}  // namespace

bool act_quant_of(int32_t act_family, int32_t act_bits, int32_t act_group_size, ActQuant* out,
                  std::string* why) {
  ActQuant q;
  if (act_bits >= 16) {
    *out = q;  // weight-only
    return true;
  }
  if (act_group_size == 0 || act_group_size < -1) {
    *why = "act_group_size = " + std::to_string(act_group_size) + " invalid (-1 or positive)";
    return false;
  }
  q.group = act_group_size;
  if (act_family == INCQ_FAMILY_MX_FP && (act_bits == 4 || act_bits == 8)) {
    q.kind = ActKind::Mx;
    q.element = act_bits == 4 ? kE2M1Format : kE4M3Format;
  } else if (act_family == INCQ_FAMILY_MX_INT && act_bits == 4) {
    q.kind = ActKind::Mx;
    q.element = kInt4Format;  // the contract's mx_int grid; see the header for AutoRound's module
  } else if (act_family == INCQ_FAMILY_NV_FP && act_bits == 4) {
    q.kind = ActKind::Nv;
  } else {
    *why = "activation quantization " + family_name(act_family) + " with act_bits = " + std::to_string(act_bits) +
           " not supported (MX_FP 4 or 8, MX_INT 4, NV_FP 4, or act_bits = 16)";
    return false;
  }
  *out = q;
  return true;
}

void act_quant_row(const ActQuant& q, double* row, int64_t K) {
  if (q.kind == ActKind::None) return;
  for (int64_t k = 0; k < K; ++k) row[k] = static_cast<float>(row[k]);
  // A last partial block is what AutoRound's zero padding gives: zeros change no block maximum.
  const int64_t group = q.group > 0 ? q.group : K;
  for (int64_t k0 = 0; k0 < K; k0 += group) {
    const int64_t n = std::min(group, K - k0);
    if (q.kind == ActKind::Mx) {
      mx_block(q, row + k0, n);
    } else {
      nv_block(q, row + k0, n);
    }
  }
}

}  // namespace incq::inc_cpu
