// One integer weight-only matrix [K -> N] as the checkpoint stores it: the packed words, scales,
// optional g_idx and bias are copied byte for byte (resident memory == checkpoint footprint), and
// codes are read straight from the packed words when needed.
#ifndef INCQ_INC_CPU_INT_WO_MATRIX_HPP
#define INCQ_INC_CPU_INT_WO_MATRIX_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "incq/plugin_helpers.hpp"
#include "unpack_awq.hpp"
#include "unpack_gptq.hpp"

namespace incq::inc_cpu {

// The parts of a layer scheme that decide how its tensors are read.
struct IntWoFormat {
  int32_t bits = 0;
  int32_t packing = 0;     // GPTQ_V1, GPTQ_V2 or AWQ
  int32_t group_size = 0;  // -1 = one group over all of K
  bool sym = false;
};

struct IntWoMatrix {
  int64_t K = 0;
  int64_t N = 0;
  IntWoFormat format;
  int64_t group_size = 0;  // effective: K when the scheme says -1
  int64_t num_groups = 0;  // ceil(K / group_size); with g_idx, the group rows scales/qzeros store
  std::vector<int32_t> qweight;
  std::vector<int32_t> qzeros;
  std::vector<uint16_t> scales;  // fp16 bits, [num_groups, N]
  std::vector<int32_t> g_idx;    // empty: group of row k is k / group_size
  int32_t bias_dtype = 0;        // INCQ_DTYPE_INVALID: no bias
  std::vector<uint8_t> bias;     // raw bytes of the checkpoint bias [N]

  // The accessors are inline: the reference calls them once per weight element.
  int64_t group_of(int64_t k) const {
    return g_idx.empty() ? k / group_size : g_idx[static_cast<size_t>(k)];
  }
  // The stored weight code q.
  int32_t code_at(int64_t k, int64_t n) const {
    if (format.packing == INCQ_PACKING_AWQ) {
      return static_cast<int32_t>(unpack_awq_code(qweight.data() + k * (N / 8), n));
    }
    return static_cast<int32_t>(unpack_gptq_code(qweight.data() + n, N, format.bits, k));
  }
  // The zero point itself.
  int32_t zero_at(int64_t g, int64_t n) const {
    if (format.packing == INCQ_PACKING_AWQ) {
      return static_cast<int32_t>(unpack_awq_code(qzeros.data() + g * (N / 8), n));
    }
    const int64_t row_words = gptq_packed_words(N, format.bits);
    const int32_t stored =
        static_cast<int32_t>(unpack_gptq_code(qzeros.data() + g * row_words, 1, format.bits, n));
    // GPTQ v1 stores zero-1 (DESIGN §4). Like the v1 kernels, add 1 without wrapping: a stored
    // all-ones field reads as 2^bits (v1 cannot express a zero of 0, which is why v2 exists).
    return format.packing == INCQ_PACKING_GPTQ_V1 ? stored + 1 : stored;
  }
  float scale_at(int64_t g, int64_t n) const {
    return half_to_float(scales[static_cast<size_t>(g * N + n)]);
  }
  // w = scale * (q - zero): an fp16 scale times an integer below 2^9 in magnitude is exact in fp32.
  float weight_at(int64_t k, int64_t n) const {
    const int64_t g = group_of(k);
    return scale_at(g, n) * static_cast<float>(code_at(k, n) - zero_at(g, n));
  }
  double bias_at(int64_t n) const;  // 0 without bias
  uint64_t resident_bytes() const;
};

// Validates and copies the tensors `<prefix>qweight`, `<prefix>qzeros`, `<prefix>scales`,
// `<prefix>g_idx` (optional), `<prefix>bias` (optional unless require_bias) from `tensors`.
// Messages name `layer` and the full tensor name. K, N must already satisfy int_wo_shape_reason.
IntWoMatrix load_int_wo_matrix(BundleTensors& tensors, const std::string& layer,
                               const std::string& prefix, int64_t K, int64_t N,
                               const IntWoFormat& format, bool require_bias);

}  // namespace incq::inc_cpu

#endif
