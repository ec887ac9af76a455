#include "quant/fp8_weights.hpp"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/float_formats.hpp"
#include "quant/tensor_read.hpp"

namespace incq::host::quant {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// How the scales tile W (HF orientation [N][K]): scale index of element (n, k).
struct ScaleTiling {
  int64_t rows = 1, cols = 1;  // logical scale grid
  int64_t bn = 1, bk = 1;      // elements of W per scale along N and K
  int64_t index(int64_t n, int64_t k) const { return (n / bn) * cols + k / bk; }
};

ScaleTiling tiling_of(const std::string& layer, const incq_scheme& s, int64_t K, int64_t N) {
  ScaleTiling t;
  if (s.packing == INCQ_PACKING_FP8_BLOCK) {
    if (s.block_n <= 0 || s.block_k <= 0)
      throw Error(fmt::format("{}: FP8 block scheme with block [{}, {}], expected positive sizes", layer, s.block_n,
                              s.block_k));
    t.bn = s.block_n;
    t.bk = s.block_k;
  } else if (s.group_size == 0) {  // per tensor
    t.bn = N;
    t.bk = K;
  } else if (s.group_size == -1) {  // per channel
    t.bn = 1;
    t.bk = K;
  } else if (s.group_size > 0) {
    t.bn = 1;
    t.bk = s.group_size;
  } else {
    throw Error(fmt::format("{}: FP8 group_size {}, expected 0, -1 or positive", layer, s.group_size));
  }
  if (t.bn < 1) t.bn = 1;
  if (t.bk < 1) t.bk = 1;
  t.rows = ceil_div(N, t.bn);
  t.cols = ceil_div(K, t.bk);
  return t;
}

int32_t fp8_dtype_of(const std::string& layer, const incq_scheme& s) {
  if (s.family != INCQ_FAMILY_FP8) throw Error(fmt::format("{}: scheme family {} is not FP8", layer, s.family));
  if (s.weight_dtype == 0 || s.weight_dtype == INCQ_DTYPE_F8_E4M3) return INCQ_DTYPE_F8_E4M3;
  if (s.weight_dtype == INCQ_DTYPE_F8_E5M2) return INCQ_DTYPE_F8_E5M2;
  throw Error(fmt::format("{}: FP8 weight_dtype {}, expected F8_E4M3 or F8_E5M2", layer,
                          incq::dtype_name(s.weight_dtype)));
}

// The shapes AutoRound may give the scale of a tiling (docs/formats.md §2).
std::vector<std::vector<int64_t>> accepted_scale_shapes(const incq_scheme& s, const ScaleTiling& t) {
  if (s.packing == INCQ_PACKING_FP8_BLOCK) return {{t.rows, t.cols}};
  if (s.group_size == 0) return {{1}, {}};
  if (s.group_size == -1) return {{t.rows}, {t.rows, 1}};
  return {{t.rows, t.cols}, {t.rows * t.cols}};
}

}  // namespace

std::vector<double> dequantize_fp8(const std::string& layer, const incq_tensor& weight, const incq_tensor& scale,
                                   const incq_scheme& scheme, int64_t K, int64_t N) {
  const int32_t dtype = fp8_dtype_of(layer, scheme);
  if (K <= 0 || N <= 0) throw Error(fmt::format("{}: K {} and N {} must be positive", layer, K, N));
  const ScaleTiling tiling = tiling_of(layer, scheme, K, N);
  const bool block = scheme.packing == INCQ_PACKING_FP8_BLOCK;
  const std::string scale_name = block ? "weight_scale_inv" : "weight_scale";

  const TensorCopy w = read_tensor(layer, "weight", weight, {dtype});
  expect_shape(layer, "weight", w, {N, K}, "N x K");
  const TensorCopy sc = read_tensor(layer, scale_name, scale, {INCQ_DTYPE_BF16, INCQ_DTYPE_F16, INCQ_DTYPE_F32});
  const auto shapes = accepted_scale_shapes(scheme, tiling);
  bool shape_ok = false;
  for (const auto& sh : shapes) shape_ok = shape_ok || sc.shape == sh;
  if (!shape_ok)
    throw Error(fmt::format("{}: {}: shape {}, expected {}{}", layer, scale_name, shape_string(sc.shape),
                            shape_string(shapes[0]),
                            block ? fmt::format(" (ceil(N/{}) x ceil(K/{}))", tiling.bn, tiling.bk)
                                  : fmt::format(" for group_size {}", scheme.group_size)));
  const std::vector<double> s = float_values(layer, scale_name, sc);

  std::vector<double> out(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      const uint8_t code = w.bytes[static_cast<size_t>(n * K + k)];
      const bool bad = dtype == INCQ_DTYPE_F8_E4M3 ? is_nan_e4m3(code) : is_nonfinite_e5m2(code);
      if (bad)
        throw Error(fmt::format("{}: weight[{}, {}] is code 0x{:02X}, which is {} in {}", layer, n, k, code,
                                dtype == INCQ_DTYPE_F8_E4M3 ? "NaN" : "Inf/NaN", incq::dtype_name(dtype)));
      const double v = dtype == INCQ_DTYPE_F8_E4M3 ? decode_e4m3(code) : decode_e5m2(code);
      out[static_cast<size_t>(k * N + n)] = v * s[static_cast<size_t>(tiling.index(n, k))];
    }
  }
  return out;
}

std::vector<PackedTensor> quantize_fp8(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme) {
  const std::string who = "quantize_fp8";
  const int32_t dtype = fp8_dtype_of(who, scheme);
  if (K <= 0 || N <= 0) throw Error(fmt::format("{}: K {} and N {} must be positive", who, K, N));
  const ScaleTiling tiling = tiling_of(who, scheme, K, N);
  const bool e4m3 = dtype == INCQ_DTYPE_F8_E4M3;
  const float fmax = e4m3 ? 448.0f : 57344.0f;
  // AutoRound's floor on the scale, 1/(448*512) "copied from vLLM" (data_type/fp8.py), compared in fp32.
  const float min_scale = static_cast<float>(1.0 / (448.0 * 512.0));

  std::vector<float> amax(static_cast<size_t>(tiling.rows * tiling.cols), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const float v = w_nk[n * K + k];
      if (!std::isfinite(v)) throw Error(fmt::format("{}: w[{}, {}] is not finite", who, n, k));
      float& a = amax[static_cast<size_t>(tiling.index(n, k))];
      a = std::max(a, std::fabs(v));
    }
  std::vector<float> scale(amax.size());
  for (size_t i = 0; i < amax.size(); ++i) scale[i] = std::max(amax[i] / fmax, min_scale);  // fp32 ops

  PackedTensor weight{"weight", dtype, {N, K}, std::vector<uint8_t>(static_cast<size_t>(N * K))};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const float q = w_nk[n * K + k] / scale[static_cast<size_t>(tiling.index(n, k))];  // fp32 division
      weight.bytes[static_cast<size_t>(n * K + k)] = e4m3 ? encode_e4m3(q) : encode_e5m2(q);
    }

  const bool block = scheme.packing == INCQ_PACKING_FP8_BLOCK;
  std::vector<int64_t> scale_shape = accepted_scale_shapes(scheme, tiling)[0];
  PackedTensor sc{block ? "weight_scale_inv" : "weight_scale", INCQ_DTYPE_BF16, scale_shape,
                  std::vector<uint8_t>(scale.size() * 2)};
  for (size_t i = 0; i < scale.size(); ++i) {
    const uint16_t b = incq::float_to_bf16(scale[i]);
    std::memcpy(&sc.bytes[i * 2], &b, 2);
  }
  return {weight, sc};
}

}  // namespace incq::host::quant
