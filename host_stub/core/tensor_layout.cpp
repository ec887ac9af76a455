#include "core/tensor_layout.hpp"

#include <fmt/format.h>

#include <cstring>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::host {

namespace {

bool is_float_family(int32_t family) {
  return family == INCQ_FAMILY_FP8 || family == INCQ_FAMILY_MX_FP || family == INCQ_FAMILY_NV_FP ||
         family == INCQ_FAMILY_MX_INT;
}

AxisMap plain(int dim) { return AxisMap{dim, 1, 1, ""}; }

// GPTQ packs along one axis: 32/b codes per int32 word, or for 3 bits 32 codes in 3 words
// (one bit stream, DESIGN §4), so a cut must fall on a whole-word (3-bit: 3-word) boundary.
AxisMap gptq_packed(int dim, int bits, const char* what) {
  if (bits == 3) return AxisMap{dim, 32, 3, fmt::format("GPTQ 3-bit {} packs 32 values into 3 int32 words", what)};
  return AxisMap{dim, 32 / bits, 1, fmt::format("GPTQ {}-bit {} packs {} values per int32 word", bits, what, 32 / bits)};
}

// The K axis of an INT group table ([groups, ...]).
AxisMap int_group_axis(const incq_scheme& s, bool act_order) {
  if (s.group_size <= 0) return AxisMap{};  // per channel: one group over K, replicated on row parts
  if (act_order) return AxisMap{};          // g_idx indexes the full table: replicated on row parts
  return AxisMap{0, s.group_size, 1, fmt::format("the group table has one row per {} rows of K", s.group_size)};
}

TensorLayout int_layout(const std::string& layer, const std::string& role, const incq_scheme& s, bool act_order) {
  TensorLayout t;
  t.role = role;
  const bool awq = s.packing == INCQ_PACKING_AWQ;
  const AxisMap awq_n{1, 8, 1, "AWQ packs 8 columns per int32 word"};
  if (role == "qweight") {
    t.k = awq ? plain(0) : gptq_packed(0, s.bits, "qweight (along K)");
    t.n = awq ? awq_n : plain(1);
  } else if (role == "qzeros") {
    t.k = int_group_axis(s, act_order);
    t.n = awq ? awq_n : gptq_packed(1, s.bits, "qzeros (along N)");
  } else if (role == "scales") {
    t.k = int_group_axis(s, act_order);
    t.n = plain(1);
  } else if (role == "g_idx") {
    t.k = plain(0);
    t.rebase_g_idx = !act_order && s.group_size > 0;
  } else {
    throw Error(fmt::format("layer '{}': tensor '{}': no layout rule for this tensor of an integer layer "
                            "(expected qweight, qzeros, scales, g_idx, bias)", layer, role));
  }
  return t;
}

TensorLayout fp8_layout(const std::string& layer, const std::string& role, const incq_scheme& s) {
  TensorLayout t;
  t.role = role;
  if (role == "weight") {  // [N, K], one byte per element
    t.n = plain(0);
    t.k = plain(1);
  } else if (role == "weight_scale" || role == "weight_scale_inv") {
    if (s.packing == INCQ_PACKING_FP8_BLOCK) {  // [ceil(N/bn), ceil(K/bk)]
      t.n = AxisMap{0, s.block_n, 1, fmt::format("FP8 block scales cover {} rows of N each", s.block_n)};
      t.k = AxisMap{1, s.block_k, 1, fmt::format("FP8 block scales cover {} columns of K each", s.block_k)};
    } else if (s.group_size == 0) {
      // per tensor [1]: every part keeps it
    } else if (s.group_size < 0) {  // per channel [N] or [N, 1]
      t.n = plain(0);
    } else {  // per group [N, K/G]
      t.n = plain(0);
      t.k = AxisMap{1, s.group_size, 1, fmt::format("FP8 group scales cover {} columns of K each", s.group_size)};
    }
  } else if (role == "input_scale") {
    // a static activation scale per tensor: every part keeps it
  } else {
    throw Error(fmt::format("layer '{}': tensor '{}': no layout rule for this tensor of an FP8 layer "
                            "(expected weight, weight_scale or weight_scale_inv, input_scale, bias)", layer, role));
  }
  return t;
}

TensorLayout mx_nv_layout(const std::string& layer, const std::string& role, const incq_scheme& s) {
  TensorLayout t;
  t.role = role;
  if (role == "weight_packed") {  // [N, K/2]: two 4-bit codes per byte, along K
    t.n = plain(0);
    t.k = AxisMap{1, 2, 1, "4-bit codes are packed two per byte along K"};
  } else if (role == "weight") {  // [N, K] 8-bit elements
    t.n = plain(0);
    t.k = plain(1);
  } else if (role == "weight_scale") {  // [N, K/G] shared scales
    t.n = plain(0);
    t.k = AxisMap{1, s.group_size, 1, fmt::format("one shared scale covers {} columns of K", s.group_size)};
  } else if (role == "weight_global_scale" || role == "input_global_scale") {
    // one fp32 per tensor: every part keeps it
  } else {
    throw Error(fmt::format("layer '{}': tensor '{}': no layout rule for this tensor of an MX/NV layer "
                            "(expected weight_packed or weight, weight_scale, weight_global_scale, "
                            "input_global_scale, bias)", layer, role));
  }
  return t;
}

// Element (i, j) of a 0-2 dimensional tensor viewed as [rows, cols].
struct Matrix2 {
  const uint8_t* base;
  int64_t rows, cols, s0, s1;
  size_t esize;
  const uint8_t* at(int64_t i, int64_t j) const { return base + static_cast<size_t>(i * s0 + j * s1) * esize; }
};

Matrix2 as_matrix(const std::string& name, const incq_tensor& t) {
  if (t.device_type != INCQ_DEVICE_CPU)
    throw Error(fmt::format("tensor '{}': only CPU tensors can be sliced by the host", name));
  if (t.ndim < 0 || t.ndim > 2)
    throw Error(fmt::format("tensor '{}': {} dimensions; the layouts have at most 2", name, t.ndim));
  const size_t esize = incq::dtype_size(t.dtype);
  if (esize == 0) throw Error(fmt::format("tensor '{}': unknown dtype {}", name, t.dtype));
  const uint8_t* base = static_cast<const uint8_t*>(t.data) + t.byte_offset;
  if (t.ndim == 0) return {base, 1, 1, 0, 0, esize};
  if (t.ndim == 1) return {base, 1, t.shape[0], 0, t.strides[0], esize};
  return {base, t.shape[0], t.shape[1], t.strides[0], t.strides[1], esize};
}

}  // namespace

TensorLayout tensor_layout(const std::string& layer, const std::string& role, const incq_scheme& scheme,
                           bool act_order) {
  if (role == "bias") {
    TensorLayout t;
    t.role = role;
    t.n = plain(0);
    t.is_bias = true;
    return t;
  }
  if (scheme.family == INCQ_FAMILY_INT) return int_layout(layer, role, scheme, act_order);
  if (scheme.family == INCQ_FAMILY_FP8) return fp8_layout(layer, role, scheme);
  if (is_float_family(scheme.family)) return mx_nv_layout(layer, role, scheme);
  throw Error(fmt::format("layer '{}': tensor '{}': scheme family {} has no tensor layout rules", layer, role,
                          scheme.family));
}

int64_t stored_extent(const AxisMap& map, int64_t length) {
  return (length + map.logical - 1) / map.logical * map.stored;
}

bool is_act_order(const incq_tensor& g_idx, int64_t K, int32_t group_size) {
  const Matrix2 m = as_matrix("g_idx", g_idx);
  if (g_idx.dtype != INCQ_DTYPE_I32 || m.rows * m.cols != K)
    throw Error(fmt::format("tensor 'g_idx': expected I32 [{}], got {} {}", K, incq::dtype_name(g_idx.dtype),
                            shape_text(g_idx)));
  const int64_t G = group_size > 0 ? group_size : K;
  for (int64_t k = 0; k < K; ++k) {
    int32_t g;
    std::memcpy(&g, m.at(0, k), 4);
    if (g != k / G) return true;
  }
  return false;
}

quant::PackedTensor gather_runs(const std::string& name, const std::vector<TensorRun>& runs, int dim) {
  if (runs.empty()) throw Error(fmt::format("tensor '{}': nothing to copy", name));
  const incq_tensor& first = *runs[0].tensor;
  quant::PackedTensor out;
  out.name = name;
  out.dtype = first.dtype;
  if (dim < 0) {
    const Matrix2 m = as_matrix(name, first);
    out.shape.assign(first.shape, first.shape + first.ndim);
    out.bytes.resize(static_cast<size_t>(m.rows * m.cols) * m.esize);
    uint8_t* dst = out.bytes.data();
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j, dst += m.esize) std::memcpy(dst, m.at(i, j), m.esize);
    return out;
  }
  if (dim >= first.ndim) throw Error(fmt::format("tensor '{}': has no dimension {}", name, dim));
  // Viewed as [rows, cols], the runs cut the rows (dim 0 of a 2-d tensor) or the columns.
  const bool cut_rows = first.ndim == 2 && dim == 0;
  int64_t total = 0;
  for (const auto& r : runs) {
    const incq_tensor& t = *r.tensor;
    if (t.dtype != first.dtype || t.ndim != first.ndim || (first.ndim == 2 && t.shape[1 - dim] != first.shape[1 - dim]))
      throw Error(fmt::format("tensor '{}': parts {} {} and {} {} cannot be joined along dimension {}", name,
                              incq::dtype_name(first.dtype), shape_text(first), incq::dtype_name(t.dtype), shape_text(t),
                              dim));
    if (r.begin < 0 || r.end < r.begin || r.end > t.shape[dim])
      throw Error(fmt::format("tensor '{}': range [{}, {}) outside dimension {} of {}", name, r.begin, r.end, dim,
                              shape_text(t)));
    total += r.end - r.begin;
  }
  out.shape.assign(first.shape, first.shape + first.ndim);
  out.shape[static_cast<size_t>(dim)] = total;
  const size_t esize = incq::dtype_size(first.dtype);
  out.bytes.resize(static_cast<size_t>(out.shape.size() == 2 ? out.shape[0] * out.shape[1] : out.shape[0]) * esize);
  uint8_t* dst = out.bytes.data();
  const int64_t rows = cut_rows ? 0 : (first.ndim == 2 ? first.shape[0] : 1);
  if (cut_rows) {
    for (const auto& r : runs) {
      const Matrix2 m = as_matrix(name, *r.tensor);
      for (int64_t i = r.begin; i < r.end; ++i)
        for (int64_t j = 0; j < m.cols; ++j, dst += esize) std::memcpy(dst, m.at(i, j), esize);
    }
  } else {
    for (int64_t i = 0; i < rows; ++i)
      for (const auto& r : runs) {
        const Matrix2 m = as_matrix(name, *r.tensor);
        for (int64_t j = r.begin; j < r.end; ++j, dst += esize) std::memcpy(dst, m.at(i, j), esize);
      }
  }
  return out;
}

std::string shape_text(const incq_tensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

}  // namespace incq::host
