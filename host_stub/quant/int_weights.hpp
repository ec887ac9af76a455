// The logical (unpacked) form of one integer-quantized Linear: what every packing encodes.
#pragma once

#include <cstdint>
#include <vector>

namespace incq::host::quant {

// Integer-quantized weight of one Linear in x·W orientation: W is [K][N] (K = in, N = out).
// Dequantization is w(k, n) = scale(g, n) * (q(k, n) - zero(g, n)) with g = group_of(k) (DESIGN §4).
struct IntWeights {
  int64_t K = 0, N = 0;
  int bits = 4;
  int group_size = -1;  // -1: one group over all of K
  bool sym = true;
  std::vector<uint8_t> q;        // [K*N] stored codes in [0, 2^bits): element (k, n) at k*N + n
  std::vector<int32_t> zeros;    // [num_groups()*N] the real zero point (sym: 2^(bits-1))
  std::vector<uint16_t> scales;  // [num_groups()*N] fp16 bit patterns; may be negative
  std::vector<int32_t> g_idx;    // [K] group of each row; empty = k / group_size

  // The group length along K: K itself when group_size is -1.
  int64_t effective_group_size() const;
  // ceil(K / G): a last, shorter group when G does not divide K.
  int64_t num_groups() const;
  int32_t group_of(int64_t k) const;
};

}  // namespace incq::host::quant
