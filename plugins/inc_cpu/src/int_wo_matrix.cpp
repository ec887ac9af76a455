#include "int_wo_matrix.hpp"

#include <cmath>
#include <cstring>

#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

template <typename T>
std::vector<T> copy_elements(const incq_tensor& t) {
  std::vector<T> out(static_cast<size_t>(numel(t)));
  if (!out.empty()) std::memcpy(out.data(), t.data, out.size() * sizeof(T));
  return out;
}

std::string index2(int64_t a, int64_t b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
}

}  // namespace

double IntWoMatrix::bias_at(int64_t n) const {
  uint16_t bits16;
  float f32;
  switch (bias_dtype) {
    case INCQ_DTYPE_F32:
      std::memcpy(&f32, bias.data() + n * 4, 4);
      return f32;
    case INCQ_DTYPE_F16:
      std::memcpy(&bits16, bias.data() + n * 2, 2);
      return half_to_float(bits16);
    case INCQ_DTYPE_BF16:
      std::memcpy(&bits16, bias.data() + n * 2, 2);
      return bf16_to_float(bits16);
    default:
      return 0.0;
  }
}

uint64_t IntWoMatrix::resident_bytes() const {
  return qweight.size() * sizeof(int32_t) + qzeros.size() * sizeof(int32_t) +
         scales.size() * sizeof(uint16_t) + g_idx.size() * sizeof(int32_t) + bias.size();
}

IntWoMatrix load_int_wo_matrix(BundleTensors& tensors, const std::string& layer,
                               const std::string& prefix, int64_t K, int64_t N,
                               const IntWoFormat& format, bool require_bias) {
  IntWoMatrix m;
  m.K = K;
  m.N = N;
  m.format = format;
  m.group_size = format.group_size == -1 ? K : format.group_size;
  m.num_groups = (K + m.group_size - 1) / m.group_size;
  const int bits = format.bits;
  const bool awq = format.packing == INCQ_PACKING_AWQ;
  const std::string fmt = awq ? std::string("AWQ 4-bit")
                              : "GPTQ " + std::to_string(bits) + "-bit";

  auto require = [&](const char* name) -> const incq_tensor& {
    const incq_tensor* t = tensors.find(prefix + name);
    if (t == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer + "': missing tensor '" + prefix + name + "'");
    }
    return *t;
  };

  const incq_tensor& qweight = require("qweight");
  const incq_tensor& qzeros = require("qzeros");
  const incq_tensor& scales = require("scales");
  const incq_tensor* g_idx = tensors.find(prefix + "g_idx");
  // With a g_idx, row k reads group g_idx[k], so the group count is what the checkpoint stores:
  // an act-order row-parallel shard keeps its K rows but every group of the full matrix (its rows'
  // groups are scattered). It is taken from scales only when qzeros stores as many group rows;
  // otherwise both are checked against ceil(K/G) as without g_idx, and the mismatch is reported.
  if (g_idx != nullptr && qzeros.ndim == 2 && scales.ndim == 2 && qzeros.shape[0] == scales.shape[0] &&
      scales.shape[0] > 0) {
    m.num_groups = scales.shape[0];
  }
  if (awq) {
    check_weight_tensor(qweight, layer, prefix + "qweight", {INCQ_DTYPE_I32}, {K, N / 8},
                        fmt + " qweight is [K, N/8]");
    check_weight_tensor(qzeros, layer, prefix + "qzeros", {INCQ_DTYPE_I32}, {m.num_groups, N / 8},
                        fmt + " qzeros is [ceil(K/G), N/8]");
  } else {
    check_weight_tensor(qweight, layer, prefix + "qweight", {INCQ_DTYPE_I32},
                        {gptq_packed_words(K, bits), N}, fmt + " qweight is [K*bits/32, N]");
    check_weight_tensor(qzeros, layer, prefix + "qzeros", {INCQ_DTYPE_I32},
                        {m.num_groups, gptq_packed_words(N, bits)},
                        fmt + " qzeros is [ceil(K/G), N*bits/32]");
  }
  check_weight_tensor(scales, layer, prefix + "scales", {INCQ_DTYPE_F16}, {m.num_groups, N},
                      "scales are [ceil(K/G), N]");
  m.qweight = copy_elements<int32_t>(qweight);
  m.qzeros = copy_elements<int32_t>(qzeros);
  m.scales = copy_elements<uint16_t>(scales);

  // Negative scales are normal (DESIGN §4); non-finite ones would poison every output.
  for (int64_t g = 0; g < m.num_groups; ++g) {
    for (int64_t n = 0; n < N; ++n) {
      const float s = m.scale_at(g, n);
      if (!std::isfinite(s)) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': tensor '" + prefix + "scales' " +
                                            index2(g, n) + " is " +
                                            (std::isnan(s) ? "NaN" : "Inf"));
      }
    }
  }

  // Symmetric int is full range with the constant zero 2^(bits-1). A different stored zero means
  // the declared packing (v1 stores zero-1, v2 the zero) does not match the checkpoint.
  if (format.sym) {
    const int32_t expected = 1 << (bits - 1);
    for (int64_t g = 0; g < m.num_groups; ++g) {
      for (int64_t n = 0; n < N; ++n) {
        const int32_t zero = m.zero_at(g, n);
        if (zero != expected) {
          fail(INCQ_ERR_INVALID_ARGUMENT,
               "layer '" + layer + "': tensor '" + prefix + "qzeros' " + index2(g, n) +
                   " decodes to zero " + std::to_string(zero) + " but symmetric " +
                   std::to_string(bits) + "-bit needs " + std::to_string(expected) +
                   " (does the checkpoint match the declared packing " +
                   (format.packing == INCQ_PACKING_GPTQ_V1 ? "GPTQ_V1, which stores zero-1?)"
                                                            : "?)"));
        }
      }
    }
  }

  if (g_idx != nullptr) {
    check_weight_tensor(*g_idx, layer, prefix + "g_idx", {INCQ_DTYPE_I32}, {K}, "g_idx is [K]");
    m.g_idx = copy_elements<int32_t>(*g_idx);
    for (int64_t k = 0; k < K; ++k) {
      const int32_t g = m.g_idx[static_cast<size_t>(k)];
      if (g < 0 || g >= m.num_groups) {
        fail(INCQ_ERR_INVALID_ARGUMENT,
             "layer '" + layer + "': tensor '" + prefix + "g_idx' [" + std::to_string(k) +
                 "] = " + std::to_string(g) + " is outside [0, " + std::to_string(m.num_groups) + ")");
      }
    }
  }

  if (const incq_tensor* bias = tensors.find(prefix + "bias")) {
    check_weight_tensor(*bias, layer, prefix + "bias",
                        {INCQ_DTYPE_F16, INCQ_DTYPE_F32, INCQ_DTYPE_BF16}, {N}, "bias is [N]");
    m.bias_dtype = bias->dtype;
    m.bias.resize(static_cast<size_t>(N) * dtype_size(bias->dtype));
    std::memcpy(m.bias.data(), bias->data, m.bias.size());
  } else if (require_bias) {
    fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': missing tensor '" + prefix +
                                        "bias' (the layer desc says has_bias)");
  }
  return m;
}

}  // namespace incq::inc_cpu
