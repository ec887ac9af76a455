// One FP8 weight matrix [N, K] (out x in, as the checkpoint stores it) with its scale grid:
// w[n, k] = decode(code[n, k]) * scale(n, k). Codes are kept byte for byte (the bulk of the
// checkpoint); scales and bias are kept in their checkpoint dtype and decoded when used (exact:
// fp32 holds every BF16/F16/F32 value), so resident bytes equal the checkpoint's.
#ifndef INCQ_INC_CPU_FP8_WEIGHTS_HPP
#define INCQ_INC_CPU_FP8_WEIGHTS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "stored_floats.hpp"

namespace incq::inc_cpu {

// The parts of an FP8 scheme that decide how its tensors are read (DESIGN §4).
struct Fp8Format {
  int32_t weight_dtype = 0;  // INCQ_DTYPE_F8_E4M3 or F8_E5M2
  int32_t packing = 0;       // INCQ_PACKING_FP8 or FP8_BLOCK
  int32_t group_size = 0;    // FP8: 0 per tensor, -1 per channel, G > 0 per group along K
  int32_t block_n = 0;       // FP8_BLOCK: the scale block [block_n, block_k]
  int32_t block_k = 0;
};

struct Fp8Matrix {
  int64_t K = 0;
  int64_t N = 0;
  std::vector<uint8_t> codes;  // [N, K]
  const float* decode = nullptr;  // the dtype's 256-entry table (fp8_decode.hpp)
  // The scale grid: scale(n, k) = scales[(n / rows_per_scale) * scale_cols + k / cols_per_scale].
  // Per tensor, per channel, per group and block scales are all this with different steps.
  int64_t rows_per_scale = 1;
  int64_t cols_per_scale = 1;
  int64_t scale_cols = 1;
  StoredFloats scales;
  StoredFloats bias;  // empty: no bias

  // w[n, k] exactly: a value of at most 4 significant bits times a float is exact in double.
  double weight_at(int64_t n, int64_t k) const {
    const float s = scales[static_cast<size_t>((n / rows_per_scale) * scale_cols + k / cols_per_scale)];
    return static_cast<double>(decode[codes[static_cast<size_t>(n * K + k)]]) * static_cast<double>(s);
  }
  double bias_at(int64_t n) const { return bias.empty() ? 0.0 : static_cast<double>(bias[static_cast<size_t>(n)]); }
  uint64_t resident_bytes() const {
    return codes.size() + scales.bytes() + bias.bytes();
  }
};

// Validates and copies `<prefix>weight`, the scale tensor (`<prefix>weight_scale`; for FP8_BLOCK
// `<prefix>weight_scale_inv`, or `weight_scale` as llm_compressor names it) and `<prefix>bias`
// (optional unless require_bias). Throws INVALID_ARGUMENT naming the layer and the tensor: wrong
// dtype or shape (with the expected one), a NaN/Inf weight code (with its [n, k] index), a
// non-finite scale. K and N must be positive.
Fp8Matrix load_fp8_matrix(BundleTensors& tensors, const std::string& layer, const std::string& prefix,
                          int64_t K, int64_t N, const Fp8Format& format, bool require_bias);

}  // namespace incq::inc_cpu

#endif
