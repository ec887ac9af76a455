#include "quant/nv_weights.hpp"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/float_formats.hpp"
#include "quant/nv_block.hpp"
#include "quant/tensor_read.hpp"

namespace incq::host::quant {
namespace {

int64_t checked_group(const std::string& layer, const incq_scheme& s, int64_t K, int64_t N) {
  if (s.family != INCQ_FAMILY_NV_FP) throw Error(fmt::format("{}: scheme family {} is not NV_FP", layer, s.family));
  if (s.bits != 4) throw Error(fmt::format("{}: NV_FP with {} bits, expected 4", layer, s.bits));
  if (K <= 0 || N <= 0) throw Error(fmt::format("{}: K {} and N {} must be positive", layer, K, N));
  if (s.group_size <= 0 || s.group_size % 2 != 0 || K % s.group_size != 0)
    throw Error(fmt::format("{}: NVFP4 group_size {} must be positive, even and divide K = {}", layer, s.group_size, K));
  return s.group_size;
}

PackedTensor f32_scalar(const char* name, float v) {
  PackedTensor t{name, INCQ_DTYPE_F32, {1}, std::vector<uint8_t>(4)};
  std::memcpy(t.bytes.data(), &v, 4);
  return t;
}

}  // namespace

double read_global_scale(const std::string& layer, const std::string& name, const incq_tensor& t) {
  const TensorCopy c = read_tensor(layer, name, t, {INCQ_DTYPE_F32});
  if (!(c.shape == std::vector<int64_t>{1} || c.shape.empty()))
    throw Error(fmt::format("{}: {}: shape {}, expected [1]", layer, name, shape_string(c.shape)));
  const double g = float_values(layer, name, c)[0];
  if (g < 0) throw Error(fmt::format("{}: {} is {}, expected >= 0", layer, name, g));
  return g;
}

std::vector<double> dequantize_nvfp4(const std::string& layer, const incq_tensor& weight_packed,
                                     const incq_tensor& weight_scale, const incq_tensor& weight_global_scale,
                                     const incq_scheme& scheme, int64_t K, int64_t N) {
  const int64_t G = checked_group(layer, scheme, K, N);
  const TensorCopy w = read_tensor(layer, "weight_packed", weight_packed, {INCQ_DTYPE_U8});
  expect_shape(layer, "weight_packed", w, {N, K / 2}, "N x K/2, two E2M1 codes per byte");
  const TensorCopy sc = read_tensor(layer, "weight_scale", weight_scale, {INCQ_DTYPE_F8_E4M3});
  expect_shape(layer, "weight_scale", sc, {N, K / G}, fmt::format("N x K/{}", G));
  const double g = read_global_scale(layer, "weight_global_scale", weight_global_scale);

  std::vector<double> out(static_cast<size_t>(K * N), 0.0);
  if (g == 0.0) return out;  // AutoRound: e2m1 * get_reciprocal(0) = 0
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t b = 0; b < K / G; ++b) {
      const uint8_t code = sc.bytes[static_cast<size_t>(n * (K / G) + b)];
      if (is_nan_e4m3(code))
        throw Error(fmt::format("{}: weight_scale[{}, {}] is code 0x{:02X}, NaN in F8_E4M3", layer, n, b, code));
      const double s = decode_e4m3(code);
      for (int64_t k = b * G; k < (b + 1) * G; ++k) {
        const uint8_t byte = w.bytes[static_cast<size_t>(n * (K / 2) + k / 2)];
        const uint8_t nib = (k % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
        out[static_cast<size_t>(k * N + n)] = decode_e2m1(nib) * s / g;
      }
    }
  }
  return out;
}

std::vector<PackedTensor> quantize_nvfp4(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme,
                                         float input_global_scale, float weight_global_scale) {
  const std::string who = "quantize_nvfp4";
  const int64_t G = checked_group(who, scheme, K, N);
  float amax = 0;
  for (int64_t i = 0; i < N * K; ++i) {
    if (!std::isfinite(w_nk[i])) throw Error(fmt::format("{}: w[{}, {}] is not finite", who, i / K, i % K));
    amax = std::max(amax, std::fabs(w_nk[i]));
  }
  float g = weight_global_scale;
  if (!(g > 0.0f)) {  // calculate_gparam: 448 * 6 * get_reciprocal(amax), in fp32
    const float r = amax == 0.0f ? 0.0f : 1.0f / amax;
    g = 2688.0f * r;
  }
  PackedTensor packed{"weight_packed", INCQ_DTYPE_U8, {N, K / 2}, std::vector<uint8_t>(static_cast<size_t>(N * K / 2))};
  PackedTensor sc{"weight_scale", INCQ_DTYPE_F8_E4M3, {N, K / G}, std::vector<uint8_t>(static_cast<size_t>(N * (K / G)))};
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t b = 0; b < K / G; ++b) {
      const float* blk = w_nk + n * K + b * G;
      float bmax = 0;
      for (int64_t i = 0; i < G; ++i) bmax = std::max(bmax, std::fabs(blk[i]));
      const NvBlockScale bs = nv_block_scale(bmax, g);
      sc.bytes[static_cast<size_t>(n * (K / G) + b)] = bs.code;
      for (int64_t i = 0; i < G; i += 2) {
        const uint8_t lo = nv_quantize_element(blk[i], bs), hi = nv_quantize_element(blk[i + 1], bs);
        packed.bytes[static_cast<size_t>(n * (K / 2) + (b * G + i) / 2)] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
  return {packed, sc, f32_scalar("weight_global_scale", g), f32_scalar("input_global_scale", input_global_scale)};
}

}  // namespace incq::host::quant
