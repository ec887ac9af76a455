#include "quant/mx_weights.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/float_formats.hpp"
#include "quant/mx_element.hpp"
#include "quant/tensor_read.hpp"

namespace incq::host::quant {
namespace {

int64_t checked_group(const std::string& layer, const incq_scheme& s, int64_t K, int64_t N) {
  if (K <= 0 || N <= 0) throw Error(fmt::format("{}: K {} and N {} must be positive", layer, K, N));
  if (s.group_size <= 0 || K % s.group_size != 0)
    throw Error(fmt::format("{}: MX group_size {} must be positive and divide K = {}", layer, s.group_size, K));
  if (s.bits == 4 && K % 2 != 0) throw Error(fmt::format("{}: K = {} must be even for 4-bit packing", layer, K));
  return s.group_size;
}

// The element value of code/nibble c under the scheme (already checked for NaN).
double decode_element(const MxElement& e, uint8_t c) {
  if (e.bits == 8) return decode_e4m3(c);
  return e.is_int ? decode_e0m4(c) : decode_e2m1(c);
}

}  // namespace

const char* float_weight_tensor_name(const incq_scheme& scheme) { return scheme.bits == 4 ? "weight_packed" : "weight"; }

std::vector<double> dequantize_mx(const std::string& layer, const incq_tensor& weight, const incq_tensor& weight_scale,
                                  const incq_scheme& scheme, int64_t K, int64_t N) {
  if (scheme.family != INCQ_FAMILY_MX_FP && scheme.family != INCQ_FAMILY_MX_INT)
    throw Error(fmt::format("{}: scheme family {} is not MX", layer, scheme.family));
  const MxElement el = mx_element(scheme.family, scheme.bits, layer.c_str());
  if (el.is_int && el.bits != 4)
    throw Error(fmt::format("{}: MXINT{} has no checkpoint layout (AutoRound writes MXINT4 only)", layer, el.bits));
  const int64_t G = checked_group(layer, scheme, K, N);
  const char* wname = float_weight_tensor_name(scheme);
  const bool packed = scheme.bits == 4;

  const TensorCopy w = read_tensor(layer, wname, weight, {packed ? INCQ_DTYPE_U8 : INCQ_DTYPE_F8_E4M3});
  expect_shape(layer, wname, w, {N, packed ? K / 2 : K}, packed ? "N x K/2, two 4-bit codes per byte" : "N x K");
  const TensorCopy sc = read_tensor(layer, "weight_scale", weight_scale, {INCQ_DTYPE_U8});
  expect_shape(layer, "weight_scale", sc, {N, K / G}, fmt::format("N x K/{}, E8M0", G));

  std::vector<double> out(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < K / G; ++g) {
      const uint8_t s = sc.bytes[static_cast<size_t>(n * (K / G) + g)];
      if (s == 255) throw Error(fmt::format("{}: weight_scale[{}, {}] is 255, the E8M0 NaN", layer, n, g));
      const double scale = decode_e8m0(s);
      for (int64_t k = g * G; k < (g + 1) * G; ++k) {
        uint8_t c;
        if (packed) {
          const uint8_t byte = w.bytes[static_cast<size_t>(n * (K / 2) + k / 2)];
          c = (k % 2 == 0) ? (byte & 0x0F) : (byte >> 4);  // element 2j in the low nibble
        } else {
          c = w.bytes[static_cast<size_t>(n * K + k)];
          if (is_nan_e4m3(c)) throw Error(fmt::format("{}: weight[{}, {}] is code 0x{:02X}, NaN in F8_E4M3", layer, n, k, c));
        }
        out[static_cast<size_t>(k * N + n)] = decode_element(el, c) * scale;
      }
    }
  }
  return out;
}

std::vector<PackedTensor> quantize_mx(const float* w_nk, int64_t N, int64_t K, const incq_scheme& scheme) {
  const std::string who = "quantize_mx";
  if (scheme.family != INCQ_FAMILY_MX_FP && scheme.family != INCQ_FAMILY_MX_INT)
    throw Error(fmt::format("{}: scheme family {} is not MX", who, scheme.family));
  const MxElement el = mx_element(scheme.family, scheme.bits, who.c_str());
  if (el.is_int && el.bits != 4) throw Error(fmt::format("{}: only MXINT4 has a checkpoint layout", who));
  const int64_t G = checked_group(who, scheme, K, N);
  const bool packed = scheme.bits == 4;

  PackedTensor w{float_weight_tensor_name(scheme), packed ? INCQ_DTYPE_U8 : INCQ_DTYPE_F8_E4M3,
                 {N, packed ? K / 2 : K}, std::vector<uint8_t>(static_cast<size_t>(packed ? N * K / 2 : N * K), 0)};
  PackedTensor sc{"weight_scale", INCQ_DTYPE_U8, {N, K / G}, std::vector<uint8_t>(static_cast<size_t>(N * (K / G)))};
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < K / G; ++g) {
      const float* blk = w_nk + n * K + g * G;
      double amax = 0;
      for (int64_t i = 0; i < G; ++i) {
        if (!std::isfinite(blk[i])) throw Error(fmt::format("{}: w[{}, {}] is not finite", who, n, g * G + i));
        amax = std::max(amax, std::fabs(static_cast<double>(blk[i])));
      }
      const int E = mx_shared_exponent(amax, el);
      sc.bytes[static_cast<size_t>(n * (K / G) + g)] = static_cast<uint8_t>(E + 127);
      for (int64_t i = 0; i < G; ++i) {
        const int64_t k = g * G + i;
        const double q = mx_round_element(std::ldexp(static_cast<double>(blk[i]), -E), el);
        if (!packed) {
          w.bytes[static_cast<size_t>(n * K + k)] = encode_e4m3(q);
          continue;
        }
        const uint8_t nib = el.is_int ? encode_e0m4(q) : encode_e2m1(q);
        uint8_t& byte = w.bytes[static_cast<size_t>(n * (K / 2) + k / 2)];
        byte = static_cast<uint8_t>(k % 2 == 0 ? (byte & 0xF0) | nib : (byte & 0x0F) | (nib << 4));
      }
    }
  }
  return {w, sc};
}

}  // namespace incq::host::quant
