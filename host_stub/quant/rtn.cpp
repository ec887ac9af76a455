// Facts below are read from intel/auto-round, auto_round/data_type/int.py (quant_tensor_sym,
// quant_tensor_asym; commit 5e33cbce) and auto_round/data_type/utils.py (round_ste,
// reshape_pad_tensor_by_group_size; commit 0016b8a8):
//  [F1] wmin = min(group, 0), wmax = max(group, 0): both extremes always include zero.
//  [F2] sym: maxq = 2^(b-1); max_v = +|wmin| if wmax < |wmin| (strictly), else -wmax; so a tie or a
//       dominant positive extreme gives a NEGATIVE scale, and the dominant extreme lands on -maxq.
//       scale = max_v / maxq; q = clamp(round(w / scale), -maxq, maxq - 1); exported offset by maxq.
//  [F3] asym: maxq = 2^b - 1; scale = (wmax - wmin) / maxq; zp = round(-wmin / scale) (not
//       clamped there); q = clamp(round(w / scale) + zp, 0, maxq).
//  [F4] scale is cast to scale_dtype = float16 BEFORE it is used to divide (and before zp).
//  [F5] then |scale| is kept >= q_scale_thresh = 1e-5 with its sign (sym: negative scales are
//       clamped to <= -1e-5, others to >= 1e-5; asym: >= 1e-5). An all-zero group therefore gets
//       scale fp16(1e-5) (max_v is -0.0, which is not < 0), codes = the zero point, zp = 0 (asym).
//       (Older AutoRound versions replaced an all-zero group's range by [-1, 1]; this follows 5e33cbce.)
//  [F6] round_ste's forward value is torch.round: half to even.
//  [F7] a G that does not divide K pads the last group with 0.0, which cannot change [F1]'s extremes.
//  Newer AutoRound may pick an "optimized RTN" (rtn_int_sym, a scale search) for iters=0 unless
//  disable_opt_rtn; this implements the plain definitions above, which the export format shares.
#include "quant/rtn.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host::quant {

double round_half_to_even(double v) {
  const double lower = std::floor(v);
  const double frac = v - lower;
  if (frac > 0.5) return lower + 1.0;
  if (frac < 0.5) return lower;
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

namespace {

// [F4] + [F5]: the fp16 scale AutoRound actually divides by.
uint16_t fp16_scale_with_threshold(float scale) {
  static const uint16_t thresh = incq::float_to_half(1e-5f);
  const uint16_t h = incq::float_to_half(scale);
  const float s = incq::half_to_float(h);
  if (!std::isfinite(s))
    throw Error(fmt::format("quantize_rtn: scale {} overflows fp16", scale));
  if (s < 0.0f) return s > -incq::half_to_float(thresh) ? static_cast<uint16_t>(thresh | 0x8000u) : h;
  return s < incq::half_to_float(thresh) ? thresh : h;
}

struct GroupResult {
  uint16_t scale;
  int32_t zero;
};

// One (group, column): rows lists the k of the group.
GroupResult quantize_group(const float* w_kn, int64_t N, int64_t n, const std::vector<int64_t>& rows,
                           int bits, bool sym, std::vector<uint8_t>& q) {
  float wmin = 0.0f, wmax = 0.0f;  // [F1]
  for (int64_t k : rows) {
    wmin = std::min(wmin, w_kn[k * N + n]);
    wmax = std::max(wmax, w_kn[k * N + n]);
  }
  GroupResult r{};
  if (sym) {
    const int32_t maxq = 1 << (bits - 1);
    const float wmin_abs = -wmin, wmax_abs = wmax;
    const float max_v = wmax_abs < wmin_abs ? wmin_abs : -wmax_abs;  // [F2]
    r.scale = fp16_scale_with_threshold(max_v / static_cast<float>(maxq));
    r.zero = maxq;
    const float s = incq::half_to_float(r.scale);
    for (int64_t k : rows) {
      const double v = round_half_to_even(w_kn[k * N + n] / s);  // float division, as torch does
      const double c = std::clamp(v, static_cast<double>(-maxq), static_cast<double>(maxq - 1));
      q[k * N + n] = static_cast<uint8_t>(static_cast<int32_t>(c) + maxq);
    }
  } else {
    const int32_t maxq = (1 << bits) - 1;
    r.scale = fp16_scale_with_threshold((wmax - wmin) / static_cast<float>(maxq));  // [F3]
    const float s = incq::half_to_float(r.scale);
    // [F3] leaves zp unclamped; it can only leave [0, maxq] through the relative error of a
    // subnormal fp16 scale (tiny groups), and no packing can store it then, so clamp here.
    r.zero = static_cast<int32_t>(
        std::clamp(round_half_to_even(-wmin / s), 0.0, static_cast<double>(maxq)));
    for (int64_t k : rows) {
      const double v = round_half_to_even(w_kn[k * N + n] / s) + r.zero;
      q[k * N + n] = static_cast<uint8_t>(std::clamp(v, 0.0, static_cast<double>(maxq)));
    }
  }
  return r;
}

}  // namespace

IntWeights quantize_rtn(const float* w_kn, int64_t K, int64_t N, int bits, int group_size, bool sym,
                        const std::vector<int32_t>& g_idx) {
  if (K <= 0 || N <= 0) throw Error(fmt::format("quantize_rtn: K={} and N={} must be positive", K, N));
  if (bits < 2 || bits > 8) throw Error(fmt::format("quantize_rtn: bits={} not in 2..8", bits));
  if (group_size != -1 && group_size <= 0)
    throw Error(fmt::format("quantize_rtn: group_size={} must be -1 or positive", group_size));
  IntWeights w;
  w.K = K;
  w.N = N;
  w.bits = bits;
  w.group_size = group_size;
  w.sym = sym;
  w.g_idx = g_idx;
  const int64_t groups = w.num_groups();
  if (!g_idx.empty()) {
    if (static_cast<int64_t>(g_idx.size()) != K)
      throw Error(fmt::format("quantize_rtn: g_idx has {} entries, expected K={}", g_idx.size(), K));
    for (int64_t k = 0; k < K; ++k)
      if (g_idx[k] < 0 || g_idx[k] >= groups)
        throw Error(fmt::format("quantize_rtn: g_idx[{}] = {} not in [0, {})", k, g_idx[k], groups));
  }
  for (int64_t i = 0; i < K * N; ++i)
    if (!std::isfinite(w_kn[i]))
      throw Error(fmt::format("quantize_rtn: W[{}, {}] is not finite", i / N, i % N));

  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(groups));
  for (int64_t k = 0; k < K; ++k) rows[w.group_of(k)].push_back(k);

  w.q.assign(static_cast<size_t>(K * N), 0);
  w.zeros.assign(static_cast<size_t>(groups * N), 0);
  w.scales.assign(static_cast<size_t>(groups * N), 0);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t n = 0; n < N; ++n) {
      const GroupResult r = quantize_group(w_kn, N, n, rows[g], bits, sym, w.q);
      w.scales[g * N + n] = r.scale;
      w.zeros[g * N + n] = r.zero;
    }
  return w;
}

void fit_gptq_v1_zero_range(IntWeights& q, const float* w_kn) {
  const int32_t maxq = (1 << q.bits) - 1;
  for (int64_t n = 0; n < q.N; ++n) {
    for (int64_t g = 0; g < q.num_groups(); ++g) {
      const size_t gi = static_cast<size_t>(g * q.N + n);
      if (q.zeros[gi] != 0) continue;
      q.zeros[gi] = 1;
      const double scale = incq::half_to_float(q.scales[gi]);
      for (int64_t k = 0; k < q.K; ++k) {
        if (q.group_of(k) != g) continue;
        const size_t i = static_cast<size_t>(k * q.N + n);
        const double code = round_half_to_even(w_kn[i] / scale) + 1;
        q.q[i] = static_cast<uint8_t>(std::clamp<double>(code, 0, maxq));
      }
    }
  }
}

}  // namespace incq::host::quant
