#include "mx_weights.hpp"

#include <cmath>
#include <cstring>

#include "activation_io.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

std::string index2(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

std::vector<uint8_t> copy_bytes(const incq_tensor& t) {
  std::vector<uint8_t> out(static_cast<size_t>(numel(t)) * dtype_size(t.dtype));
  if (!out.empty()) std::memcpy(out.data(), t.data, out.size());
  return out;
}

const incq_tensor& require(BundleTensors& tensors, const std::string& layer, const std::string& name,
                           const MxFormat& format) {
  const incq_tensor* t = tensors.find(name);
  if (t == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT,
         "layer '" + layer + "': missing tensor '" + name + "' (" + format.layout() + ")");
  }
  return *t;
}

// A per-tensor F32 [1] scale (also accepted as a 0-d scalar, as some exporters write it).
float load_global_scale(const incq_tensor& t, const std::string& layer, const std::string& name) {
  if (t.ndim == 0) {
    check_weight_tensor(t, layer, name, {INCQ_DTYPE_F32}, {}, "a per-tensor F32 scale");
  } else {
    check_weight_tensor(t, layer, name, {INCQ_DTYPE_F32}, {1}, "a per-tensor F32 scale [1]");
  }
  float v;
  std::memcpy(&v, t.data, sizeof v);
  // AutoRound divides by it (multiplies by its reciprocal, which it sets to 0 for 0): zero,
  // negative or non-finite values describe no usable tensor.
  if (!(std::isfinite(v) && v > 0.0f)) {
    fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + name + "' is " + std::to_string(v) +
                                        " (a global scale must be a positive finite number)");
  }
  return v;
}

}  // namespace

uint64_t MxMatrix::resident_bytes() const {
  return codes.size() + scales.size() + bias.size();
}

MxMatrix load_mx_matrix(BundleTensors& tensors, const std::string& layer, const std::string& prefix,
                        int64_t K, int64_t N, const MxFormat& format, const ActQuant& act,
                        bool require_bias) {
  if (K <= 0 || N <= 0 || K % format.group != 0) {
    fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': " + format.name() + " needs K a positive multiple of " +
                                        std::to_string(format.group) + " and N positive (K = " +
                                        std::to_string(K) + ", N = " + std::to_string(N) + ")");
  }
  MxMatrix m;
  m.format = format;
  m.N = N;
  m.K = K;
  m.input_quant = act;
  const int64_t G = K / format.group;

  if (format.packed_nibbles()) {
    const std::string name = prefix + "weight_packed";
    const incq_tensor& t = require(tensors, layer, name, format);
    check_weight_tensor(t, layer, name, {INCQ_DTYPE_U8}, {N, K / 2}, format.layout());
    m.codes = copy_bytes(t);
  } else {
    const std::string name = prefix + "weight";
    const incq_tensor& t = require(tensors, layer, name, format);
    check_weight_tensor(t, layer, name, {INCQ_DTYPE_F8_E4M3}, {N, K}, format.layout());
    m.codes = copy_bytes(t);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) {
        if (e4m3_is_nan(m.codes[static_cast<size_t>(n * K + k)])) {
          fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + name + "' " + index2(n, k) +
                                              " is NaN (E4M3 0x7F/0xFF)");
        }
      }
    }
  }

  const std::string scale_name = prefix + "weight_scale";
  const incq_tensor& st = require(tensors, layer, scale_name, format);
  check_weight_tensor(st, layer, scale_name, {format.e4m3_scales() ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8}, {N, G},
                      format.layout());
  m.scales = copy_bytes(st);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < G; ++g) {
      const uint8_t s = m.scales[static_cast<size_t>(n * G + g)];
      const bool nan = format.e4m3_scales() ? e4m3_is_nan(s) : e8m0_is_nan(s);
      if (nan) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + scale_name + "' " + index2(n, g) +
                                            " is NaN (" + (format.e4m3_scales() ? "E4M3 0x7F/0xFF" : "E8M0 255") +
                                            ")");
      }
    }
  }

  if (format.kind == MxKind::NvFp4) {
    const std::string gname = prefix + "weight_global_scale";
    m.weight_global_scale = load_global_scale(require(tensors, layer, gname, format), layer, gname);
  }
  // Any checkpoint may carry it (NVFP4 always does); only NV activation quantization reads it.
  const std::string iname = prefix + "input_global_scale";
  const incq_tensor* input_scale = tensors.find(iname);
  if (act.kind == ActKind::Nv) {
    if (input_scale == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': missing tensor '" + iname +
                                          "' (NV_FP activation quantization scales each block by the static "
                                          "input global scale)");
    }
    m.input_quant.global_scale = load_global_scale(*input_scale, layer, iname);
  }

  const std::string bias_name = prefix + "bias";
  if (const incq_tensor* bias = tensors.find(bias_name)) {
    check_weight_tensor(*bias, layer, bias_name, {INCQ_DTYPE_F16, INCQ_DTYPE_F32, INCQ_DTYPE_BF16}, {N},
                        "bias is [N]");
    m.bias_dtype = bias->dtype;
    m.bias = copy_bytes(*bias);
    for (int64_t n = 0; n < N; ++n) {
      const double v = m.bias_at(n);
      if (!std::isfinite(v)) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + bias_name + "' [" + std::to_string(n) +
                                            "] is " + (std::isnan(v) ? "NaN" : "Inf"));
      }
    }
  } else if (require_bias) {
    fail(INCQ_ERR_INVALID_ARGUMENT,
         "layer '" + layer + "': missing tensor '" + bias_name + "' (the layer desc says has_bias)");
  }
  return m;
}

}  // namespace incq::inc_cpu
