#include "quant/pack.hpp"

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/bit_stream.hpp"
#include "quant/packing_layout.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint bytes are written in host order");

namespace incq::host::quant {
namespace {

template <typename T>
PackedTensor make_tensor(const char* name, int32_t dtype, std::vector<int64_t> shape, const std::vector<T>& v) {
  PackedTensor t{name, dtype, std::move(shape), std::vector<uint8_t>(v.size() * sizeof(T))};
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

void check_consistent(const IntWeights& w, incq_packing packing) {
  const std::string why = packing_limits_violation(w.K, w.N, w.bits, w.group_size, packing);
  if (!why.empty()) throw Error("pack_int: " + why);
  const int64_t groups = w.num_groups();
  if (static_cast<int64_t>(w.q.size()) != w.K * w.N)
    throw Error(fmt::format("pack_int: q has {} codes, expected K*N = {}", w.q.size(), w.K * w.N));
  if (static_cast<int64_t>(w.zeros.size()) != groups * w.N || static_cast<int64_t>(w.scales.size()) != groups * w.N)
    throw Error(fmt::format("pack_int: zeros/scales have {}/{} entries, expected groups*N = {}",
                            w.zeros.size(), w.scales.size(), groups * w.N));
  if (!w.g_idx.empty()) {
    if (static_cast<int64_t>(w.g_idx.size()) != w.K)
      throw Error(fmt::format("pack_int: g_idx has {} entries, expected K = {}", w.g_idx.size(), w.K));
    for (int64_t k = 0; k < w.K; ++k)
      if (w.g_idx[k] < 0 || w.g_idx[k] >= groups)
        throw Error(fmt::format("pack_int: g_idx[{}] = {} not in [0, {})", k, w.g_idx[k], groups));
  }
  for (size_t i = 0; i < w.q.size(); ++i)
    if (w.q[i] >> w.bits)
      throw Error(fmt::format("pack_int: code q[{}, {}] = {} does not fit {} bits", i / w.N, i % w.N, w.q[i], w.bits));
  const auto range = zero_range(w.bits, packing);
  for (size_t i = 0; i < w.zeros.size(); ++i)
    if (w.zeros[i] < range[0] || w.zeros[i] > range[1])
      throw Error(fmt::format("pack_int: zero[{}, {}] = {} cannot be stored by {} (holds [{}, {}])",
                              i / w.N, i % w.N, w.zeros[i], packing_name(packing), range[0], range[1]));
}

}  // namespace

std::vector<PackedTensor> pack_int(const IntWeights& w, incq_packing packing, bool with_g_idx) {
  check_consistent(w, packing);
  const PackedShapes shp = packed_shapes(w.K, w.N, w.bits, w.group_size, packing);
  const int64_t N = w.N;
  const int32_t zoff = zero_offset(packing);
  const uint32_t mask = (1u << w.bits) - 1u;

  std::vector<uint32_t> qweight(static_cast<size_t>(shp.qweight[0] * shp.qweight[1]), 0);
  std::vector<uint32_t> qzeros(static_cast<size_t>(shp.qzeros[0] * shp.qzeros[1]), 0);
  if (packing == INCQ_PACKING_AWQ) {
    // Word (row, j) holds columns 8j + kAwqOrder[slot] in its nibble slots.
    const int64_t words_per_row = N / 8;
    for (int64_t k = 0; k < w.K; ++k)
      for (int64_t j = 0; j < words_per_row; ++j)
        for (int slot = 0; slot < 8; ++slot)
          qweight[k * words_per_row + j] |= uint32_t{w.q[k * N + 8 * j + kAwqOrder[slot]]} << (4 * slot);
    for (int64_t g = 0; g < shp.qzeros[0]; ++g)
      for (int64_t j = 0; j < words_per_row; ++j)
        for (int slot = 0; slot < 8; ++slot)
          qzeros[g * words_per_row + j] |= static_cast<uint32_t>(w.zeros[g * N + 8 * j + kAwqOrder[slot]])
                                           << (4 * slot);
  } else {
    // qweight: column n is a bit stream along K, its words strided by N.
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < w.K; ++k) put_field(qweight.data() + n, N, k, w.bits, w.q[k * N + n]);
    // qzeros: row g is a bit stream along N; v1 writes zero - 1 (zero_range keeps it >= 0).
    const int64_t cols = shp.qzeros[1];
    for (int64_t g = 0; g < shp.qzeros[0]; ++g)
      for (int64_t n = 0; n < N; ++n)
        put_field(qzeros.data() + g * cols, 1, n, w.bits, static_cast<uint32_t>(w.zeros[g * N + n] + zoff) & mask);
  }

  std::vector<PackedTensor> out;
  out.push_back(make_tensor("qweight", INCQ_DTYPE_I32, {shp.qweight[0], shp.qweight[1]}, qweight));
  out.push_back(make_tensor("qzeros", INCQ_DTYPE_I32, {shp.qzeros[0], shp.qzeros[1]}, qzeros));
  out.push_back(make_tensor("scales", INCQ_DTYPE_F16, {shp.scales[0], shp.scales[1]}, w.scales));
  if (with_g_idx) {
    std::vector<int32_t> g_idx(static_cast<size_t>(w.K));
    for (int64_t k = 0; k < w.K; ++k) g_idx[k] = w.group_of(k);
    out.push_back(make_tensor("g_idx", INCQ_DTYPE_I32, {shp.g_idx}, g_idx));
  }
  return out;
}

}  // namespace incq::host::quant
