#include "fp8_weights.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "fp8_decode.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

using Shape = std::vector<int64_t>;

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Where each scale applies and the shapes the checkpoint may give it.
struct ScaleGrid {
  int64_t rows_per = 1, cols_per = 1, rows = 1, cols = 1;
  std::vector<Shape> accepted;
  std::string layout;  // for messages
};

ScaleGrid scale_grid(const Fp8Format& f, int64_t K, int64_t N) {
  ScaleGrid g;
  if (f.packing == INCQ_PACKING_FP8_BLOCK) {
    g.rows_per = f.block_n;
    g.cols_per = f.block_k;
    g.rows = ceil_div(N, f.block_n);
    g.cols = ceil_div(K, f.block_k);
    g.accepted = {{g.rows, g.cols}};
    g.layout = "block scales are [ceil(N/block_n), ceil(K/block_k)] for weight_block_size [" +
               std::to_string(f.block_n) + ", " + std::to_string(f.block_k) + "], N = " + std::to_string(N) +
               ", K = " + std::to_string(K);
  } else if (f.group_size == 0) {
    g.rows_per = N;
    g.cols_per = K;
    g.accepted = {{1}, {}};
    g.layout = "a per-tensor scale (group_size 0) is [1] or []";
  } else if (f.group_size == -1) {
    g.cols_per = K;
    g.rows = N;
    g.accepted = {{N}, {N, 1}};
    g.layout = "per-channel scales (group_size -1) are [N] or [N, 1], N = " + std::to_string(N);
  } else {
    g.cols_per = f.group_size;
    g.rows = N;
    g.cols = ceil_div(K, f.group_size);
    // AutoRound writes scale.view(-1): the flat form is the same grid (docs/formats.md §2).
    g.accepted = {{N, g.cols}, {N * g.cols}};
    g.layout = "per-group scales (group_size " + std::to_string(f.group_size) +
               ") are [N, ceil(K/G)] or flat [N*ceil(K/G)], N = " + std::to_string(N) + ", K = " + std::to_string(K);
  }
  return g;
}

bool has_shape(const incq_tensor& t, const Shape& s) {
  if (t.ndim != static_cast<int32_t>(s.size())) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (t.shape[i] != s[i]) return false;
  return true;
}

// Dtype, placement and contiguity through the shared check, once the shape is one we accept.
void check_tensor_as(const incq_tensor& t, const std::string& layer, const std::string& name,
                     std::initializer_list<int32_t> dtypes, const Shape& shape, const std::string& layout) {
  switch (shape.size()) {
    case 0: check_weight_tensor(t, layer, name, dtypes, {}, layout); break;
    case 1: check_weight_tensor(t, layer, name, dtypes, {shape[0]}, layout); break;
    default: check_weight_tensor(t, layer, name, dtypes, {shape[0], shape[1]}, layout); break;
  }
}

// The tensor's elements in its own dtype (validated by the caller as BF16, F16 or F32).
StoredFloats stored_floats(const incq_tensor& t) { return StoredFloats(t.dtype, t.data, static_cast<size_t>(numel(t))); }

const incq_tensor& find_scale_tensor(BundleTensors& tensors, const std::string& layer, const std::string& prefix,
                                     const Fp8Format& f, std::string& name) {
  const std::string where = "layer '" + layer + "': ";
  if (f.packing != INCQ_PACKING_FP8_BLOCK) {
    name = prefix + "weight_scale";
    const incq_tensor* t = tensors.find(name);
    if (t == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + "missing tensor '" + name + "'");
    return *t;
  }
  // Block scales: AutoRound's auto_round:fp8 (and DeepSeek) write weight_scale_inv, llm_compressor
  // weight_scale; both are multiplied (w = fp8 * scale), whatever the name says.
  const incq_tensor* inv = tensors.find(prefix + "weight_scale_inv");
  const incq_tensor* plain = tensors.find(prefix + "weight_scale");
  if (inv != nullptr && plain != nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "both '" + prefix + "weight_scale_inv' and '" + prefix +
                                        "weight_scale' given for block scales: which one applies is ambiguous");
  }
  if (inv == nullptr && plain == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "missing tensor '" + prefix + "weight_scale_inv' (block scales)");
  }
  name = prefix + (inv != nullptr ? "weight_scale_inv" : "weight_scale");
  return inv != nullptr ? *inv : *plain;
}

}  // namespace

Fp8Matrix load_fp8_matrix(BundleTensors& tensors, const std::string& layer, const std::string& prefix,
                          int64_t K, int64_t N, const Fp8Format& f, bool require_bias) {
  const std::string where = "layer '" + layer + "': ";
  Fp8Matrix m;
  m.K = K;
  m.N = N;
  m.decode = fp8_decode_table(f.weight_dtype);
  if (m.decode == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "FP8 weight dtype " + dtype_name(f.weight_dtype) +
                                        " (F8_E4M3 or F8_E5M2)");
  }

  const std::string wname = prefix + "weight";
  const incq_tensor* weight = tensors.find(wname);
  if (weight == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + "missing tensor '" + wname + "'");
  check_weight_tensor(*weight, layer, wname, {f.weight_dtype}, {N, K}, "FP8 weight is [N, K]");
  m.codes.resize(static_cast<size_t>(N * K));
  std::memcpy(m.codes.data(), weight->data, m.codes.size());
  // NaN codes (and Inf for E5M2) would poison every output they touch; no exporter writes them on
  // purpose, so they mean a corrupt or misdeclared checkpoint.
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      const uint8_t code = m.codes[static_cast<size_t>(n * K + k)];
      const float v = m.decode[code];
      if (!std::isfinite(v)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", code);
        fail(INCQ_ERR_INVALID_ARGUMENT, where + "tensor '" + wname + "' [" + std::to_string(n) + ", " +
                                            std::to_string(k) + "] holds code " + hex + ", which is " +
                                            (std::isnan(v) ? "NaN" : "Inf") + " in " + dtype_name(f.weight_dtype));
      }
    }
  }

  std::string sname;
  const incq_tensor& scale = find_scale_tensor(tensors, layer, prefix, f, sname);
  const ScaleGrid grid = scale_grid(f, K, N);
  const Shape* match = nullptr;
  for (const Shape& s : grid.accepted)
    if (has_shape(scale, s)) match = &s;
  if (match == nullptr) {
    std::string expected;
    for (const Shape& s : grid.accepted) expected += (expected.empty() ? "" : " or ") + shape_text(s);
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "tensor '" + sname + "' has shape " + shape_string(scale) +
                                        ", expected " + expected + " (" + grid.layout + ")");
  }
  check_tensor_as(scale, layer, sname, {INCQ_DTYPE_BF16, INCQ_DTYPE_F16, INCQ_DTYPE_F32}, *match, grid.layout);
  m.scales = stored_floats(scale);
  m.rows_per_scale = grid.rows_per;
  m.cols_per_scale = grid.cols_per;
  m.scale_cols = grid.cols;
  for (size_t i = 0; i < m.scales.size(); ++i) {
    const float s = m.scales[i];
    if (!std::isfinite(s)) {
      fail(INCQ_ERR_INVALID_ARGUMENT, where + "tensor '" + sname + "' [" + std::to_string(i / grid.cols) + ", " +
                                          std::to_string(i % grid.cols) + "] is " + (std::isnan(s) ? "NaN" : "Inf"));
    }
  }

  const std::string bname = prefix + "bias";
  if (const incq_tensor* bias = tensors.find(bname)) {
    check_weight_tensor(*bias, layer, bname, {INCQ_DTYPE_BF16, INCQ_DTYPE_F16, INCQ_DTYPE_F32}, {N}, "bias is [N]");
    m.bias = stored_floats(*bias);
  } else if (require_bias) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "missing tensor '" + bname + "' (the layer desc says has_bias)");
  }
  return m;
}

}  // namespace incq::inc_cpu
