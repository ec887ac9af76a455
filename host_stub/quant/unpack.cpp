#include "quant/unpack.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/bit_stream.hpp"
#include "quant/packing_layout.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint bytes are read in host order");

namespace incq::host::quant {
namespace {

// INCQ_HAS_FIELD without its NULL test (t is a reference here).
#define HAS_TENSOR_FIELD(t, field) \
  ((t).struct_size >= offsetof(incq_tensor, field) + sizeof(((incq_tensor*)nullptr)->field))

struct Reader {
  const std::string& layer;

  [[noreturn]] void fail(const std::string& what) const { throw Error(layer + ": " + what); }

  // Checks t against (dtype, shape) and copies it out contiguous. shape_meaning explains the
  // expected shape in the message, e.g. "ceil(K/G) x N".
  template <typename T>
  std::vector<T> read(const char* name, const incq_tensor& t, int32_t dtype, const std::vector<int64_t>& shape,
                      const char* shape_meaning) const {
    if (!HAS_TENSOR_FIELD(t, strides))
      fail(fmt::format("{}: struct_size {} is too small for an incq_tensor", name, t.struct_size));
    const int32_t device = HAS_TENSOR_FIELD(t, device_type) ? t.device_type : INCQ_DEVICE_CPU;
    const uint64_t byte_offset = HAS_TENSOR_FIELD(t, byte_offset) ? t.byte_offset : 0;
    if (device != INCQ_DEVICE_CPU) fail(fmt::format("{}: device_type {}, expected CPU", name, device));
    if (t.dtype != dtype)
      fail(fmt::format("{}: dtype {}, expected {}", name, incq::dtype_name(t.dtype), incq::dtype_name(dtype)));
    const int ndim = static_cast<int>(shape.size());
    if (t.ndim != ndim) fail(fmt::format("{}: ndim {}, expected {}", name, t.ndim, ndim));
    const std::vector<int64_t> got(t.shape, t.shape + ndim);
    if (got != shape)
      fail(fmt::format("{}: shape [{}], expected [{}] ({})", name, fmt::join(got, ", "), fmt::join(shape, ", "),
                       shape_meaning));
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::vector<T> out(static_cast<size_t>(count));
    if (count == 0) return out;
    if (t.data == nullptr) fail(fmt::format("{}: data is NULL", name));
    const auto* base = static_cast<const unsigned char*>(t.data) + byte_offset;
    const int64_t cols = ndim == 2 ? shape[1] : 1;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t r = i / cols, c = i % cols;
      const int64_t elem = ndim == 2 ? r * t.strides[0] + c * t.strides[1] : r * t.strides[0];
      std::memcpy(&out[i], base + elem * static_cast<int64_t>(sizeof(T)), sizeof(T));  // may be unaligned
    }
    return out;
  }
};

const char* non_finite_name(float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

// The group rows qzeros and scales both store, or 0 when they are not 2-D or disagree.
int64_t stored_group_rows(const incq_tensor& qzeros, const incq_tensor& scales) {
  if (!HAS_TENSOR_FIELD(qzeros, strides) || !HAS_TENSOR_FIELD(scales, strides)) return 0;
  if (qzeros.ndim != 2 || scales.ndim != 2 || qzeros.shape[0] != scales.shape[0]) return 0;
  return scales.shape[0];
}

}  // namespace

IntWeights unpack_int(const std::string& layer_name, const incq_tensor& qweight, const incq_tensor& qzeros,
                      const incq_tensor& scales, const incq_tensor* g_idx, int64_t K, int64_t N, int bits,
                      int group_size, bool sym, incq_packing packing) {
  const Reader rd{layer_name};
  const std::string why = packing_limits_violation(K, N, bits, group_size, packing);
  if (!why.empty()) rd.fail(why);
  PackedShapes shp = packed_shapes(K, N, bits, group_size, packing);
  const bool awq = packing == INCQ_PACKING_AWQ;
  // With a g_idx, row k reads group g_idx[k], so the group count is what the checkpoint stores:
  // an act-order row-parallel shard keeps its K rows but every group of the full matrix (its rows'
  // groups are scattered). Taken from scales only when qzeros has the same group rows; otherwise
  // the shapes are judged against ceil(K/G) as without g_idx, and the mismatch is reported.
  const int64_t stored_groups = stored_group_rows(qzeros, scales);
  if (g_idx != nullptr && stored_groups > 0) shp.qzeros[0] = shp.scales[0] = stored_groups;

  const auto qw = rd.read<uint32_t>("qweight", qweight, INCQ_DTYPE_I32, {shp.qweight[0], shp.qweight[1]},
                                    awq ? "K x N/8" : "K*bits/32 x N");
  const auto qz = rd.read<uint32_t>("qzeros", qzeros, INCQ_DTYPE_I32, {shp.qzeros[0], shp.qzeros[1]},
                                    awq ? "ceil(K/G) x N/8" : "ceil(K/G) x N*bits/32");
  const auto sc = rd.read<uint16_t>("scales", scales, INCQ_DTYPE_F16, {shp.scales[0], shp.scales[1]},
                                    "ceil(K/G) x N");
  std::vector<int32_t> gi;
  if (g_idx != nullptr) gi = rd.read<int32_t>("g_idx", *g_idx, INCQ_DTYPE_I32, {shp.g_idx}, "K");

  IntWeights w;
  w.K = K;
  w.N = N;
  w.bits = bits;
  w.group_size = group_size;
  w.sym = sym;
  const int64_t groups = shp.scales[0];
  w.q.resize(static_cast<size_t>(K * N));
  w.zeros.resize(static_cast<size_t>(groups * N));
  if (awq) {
    const int64_t words_per_row = N / 8;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < words_per_row; ++j)
        for (int slot = 0; slot < 8; ++slot)
          w.q[k * N + 8 * j + kAwqOrder[slot]] = static_cast<uint8_t>((qw[k * words_per_row + j] >> (4 * slot)) & 0xFu);
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t j = 0; j < words_per_row; ++j)
        for (int slot = 0; slot < 8; ++slot)
          w.zeros[g * N + 8 * j + kAwqOrder[slot]] = static_cast<int32_t>((qz[g * words_per_row + j] >> (4 * slot)) & 0xFu);
  } else {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) w.q[k * N + n] = static_cast<uint8_t>(get_field(qw.data() + n, N, k, bits));
    const int64_t cols = shp.qzeros[1];
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t n = 0; n < N; ++n)
        w.zeros[g * N + n] = static_cast<int32_t>(get_field(qz.data() + g * cols, 1, n, bits)) - zero_offset(packing);
  }

  if (sym) {
    // Symmetric int is full range with the constant zero 2^(bits-1) (DESIGN §4); any other value
    // means the declared packing's zero convention is not the one the checkpoint was written with.
    const int32_t expected = 1 << (bits - 1);
    for (int64_t i = 0; i < groups * N; ++i)
      if (w.zeros[i] != expected)
        rd.fail(fmt::format("qzeros[{}, {}]: zero point {} under {}, expected {} (2^(bits-1)) for a symmetric layer; "
                            "is the packing format (v1 stores zero-1, v2 the zero) right?",
                            i / N, i % N, w.zeros[i], packing_name(packing), expected));
  }

  for (int64_t i = 0; i < groups * N; ++i) {
    const float s = incq::half_to_float(sc[i]);
    if (!std::isfinite(s)) rd.fail(fmt::format("scales[{}, {}] is {}", i / N, i % N, non_finite_name(s)));
  }
  w.scales = sc;

  for (int64_t k = 0; k < static_cast<int64_t>(gi.size()); ++k)
    if (gi[k] < 0 || gi[k] >= groups)
      rd.fail(fmt::format("g_idx[{}] = {}, expected in [0, {}) ({} groups)", k, gi[k], groups,
                          groups == packed_shapes(K, N, bits, group_size, packing).scales[0] ? "ceil(K/G)"
                                                                                             : "scales'"));
  w.g_idx = std::move(gi);
  return w;
}

std::pair<int64_t, int64_t> infer_kn(const std::vector<int64_t>& shape, int bits, incq_packing packing) {
  const auto fail = [&](const std::string& why) -> std::pair<int64_t, int64_t> {
    throw Error(fmt::format("qweight: shape [{}] under {} with bits={}: {}", fmt::join(shape, ", "),
                            packing_name(packing), bits, why));
  };
  if (shape.size() != 2) return fail("expected 2 dimensions");
  if (shape[0] <= 0 || shape[1] <= 0) return fail("dimensions must be positive");
  if (packing == INCQ_PACKING_AWQ) {
    if (bits != 4) return fail("AWQ holds 4 bits only");
    return {shape[0], shape[1] * 8};
  }
  if (packing != INCQ_PACKING_GPTQ_V1 && packing != INCQ_PACKING_GPTQ_V2)
    return fail("not an integer packing (GPTQ_V1, GPTQ_V2 or AWQ)");
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) return fail("GPTQ holds 2, 3, 4 or 8 bits");
  if (shape[0] * 32 % bits != 0) return fail("rows*32 is not a multiple of bits");
  return {shape[0] * 32 / bits, shape[1]};
}

}  // namespace incq::host::quant
