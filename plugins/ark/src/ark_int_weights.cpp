#include "ark_int_weights.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "ark_self_test.hpp"
#include "ark_types.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::ark {

void AlignedFree::operator()(void* p) const { std::free(p); }

uint64_t ark_int_packed_bytes(int64_t K, int64_t N, int32_t bits, int64_t group, bool asym, int32_t compute_type,
                              int32_t scale_type) {
  ArkWeightFormat f{N, K, group, compute_type, ark_int_weight_type(bits), scale_type, asym};
  return ark_packed_weight_size(f);
}

uint64_t checkpoint_int_bytes(int64_t K, int64_t N, int32_t bits, int64_t group, bool has_bias) {
  const int64_t groups = (K + group - 1) / group;
  return static_cast<uint64_t>(K * N * bits / 8 + groups * N * bits / 8 + groups * N * 2 + (has_bias ? N * 2 : 0));
}

ArkIntWeights repack_int_matrix(const inc_cpu::IntWoMatrix& m, int32_t compute_type, int32_t scale_type,
                                const std::string& layer) {
  const int64_t K = m.K, N = m.N, G = m.group_size, groups = m.num_groups;
  const int32_t bits = m.format.bits;
  const int32_t half = 1 << (bits - 1);
  if (K % G != 0) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer + "': ARK needs K divisible by the group size");
  for (size_t k = 0; k < m.g_idx.size(); ++k) {
    if (m.g_idx[k] != static_cast<int32_t>(static_cast<int64_t>(k) / G)) {
      fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer + "': g_idx[" + std::to_string(k) + "] = " +
                                     std::to_string(m.g_idx[k]) + " is act-order; ARK's repack takes no g_idx");
    }
  }
  std::vector<int8_t> zeros(static_cast<size_t>(groups * N));
  bool asym = !m.format.sym;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t n = 0; n < N; ++n) {
      const int32_t z = m.zero_at(g, n);
      if (z < 0 || z >= (1 << bits)) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': qzeros[" + std::to_string(g) + ", " + std::to_string(n) +
                                            "] holds zero point " + std::to_string(z) + ", outside ARK's int" +
                                            std::to_string(bits) + " range [0, " + std::to_string((1 << bits) - 1) + "]");
      }
      if (z != half) asym = true;
      zeros[static_cast<size_t>(g * N + n)] = static_cast<int8_t>(z - half);
    }
  }
  std::vector<int8_t> codes(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) codes[static_cast<size_t>(k * N + n)] = static_cast<int8_t>(m.code_at(k, n) - half);
  std::vector<float> scales(static_cast<size_t>(groups * N));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t n = 0; n < N; ++n) scales[static_cast<size_t>(g * N + n)] = m.scale_at(g, n);

  if (asym && m.format.sym) {  // stored zeros that are not 2^(bits-1): the asymmetric configuration
    const ArkConfigResult& c = ark_config_check(bits, true, compute_type);
    if (!c.ok) fail(INCQ_ERR_UNSUPPORTED, "layer '" + layer + "': symmetric scheme with non-constant qzeros needs " + c.detail);
    scale_type = c.scale_type;
  }
  ArkIntWeights w;
  w.format = ArkWeightFormat{N, K, G, compute_type, ark_int_weight_type(bits), scale_type, asym};
  w.blob_bytes = ark_packed_weight_size(w.format);
  // 64-byte aligned like the torch tensors ARK is normally handed.
  const size_t alloc = (w.blob_bytes + 63) / 64 * 64;
  void* blob = std::aligned_alloc(64, alloc == 0 ? 64 : alloc);
  if (blob == nullptr) throw std::bad_alloc();
  w.blob.reset(static_cast<uint8_t*>(blob));
  std::memset(blob, 0, alloc);
  ark_repack(w.format, codes.data(), zeros.data(), scales.data(), blob);
  if (m.bias_dtype != INCQ_DTYPE_INVALID) {
    w.bias.resize(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) w.bias[static_cast<size_t>(n)] = static_cast<float>(m.bias_at(n));
  }
  return w;
}

}  // namespace incq::ark
