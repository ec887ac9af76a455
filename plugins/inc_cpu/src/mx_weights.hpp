// One block-scaled weight matrix [N, K] (MXFP4, MXFP8, NVFP4, MXINT4) as the checkpoint stores it:
// codes and scales are kept byte for byte (resident memory == checkpoint footprint) and decoded
// when the product needs them.
#ifndef INCQ_INC_CPU_MX_WEIGHTS_HPP
#define INCQ_INC_CPU_MX_WEIGHTS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "activation_io.hpp"
#include "bundle_tensors.hpp"
#include "mx_act_quant.hpp"
#include "mx_decode.hpp"
#include "mx_format.hpp"

namespace incq::inc_cpu {

struct MxMatrix {
  MxFormat format;
  int64_t N = 0;
  int64_t K = 0;
  std::vector<uint8_t> codes;   // [N, K/2] two nibbles per byte, low nibble first; MXFP8: [N, K]
  std::vector<uint8_t> scales;  // [N, K/group]: E8M0, or E4M3 for NVFP4
  // NVFP4: w = fp4 * scale / weight_global_scale (the fixture's y_wdq_fp32 confirms the direction:
  // AutoRound's NVFP4QuantLinear multiplies by the reciprocal of weight_global_scale). 1 otherwise.
  double weight_global_scale = 1.0;
  // How this matrix's input is quantized (AutoRound quantizes each QuantLinear's own input; for
  // NV activations with the layer's own input_global_scale).
  ActQuant input_quant;
  int32_t bias_dtype = 0;         // INCQ_DTYPE_INVALID: no bias
  std::vector<uint8_t> bias;      // the checkpoint's bias bytes [N] (resident == checkpoint bytes)

  int64_t groups() const { return K / format.group; }

  // The element value (before its block scale): exact.
  double element_at(int64_t n, int64_t k) const {
    if (!format.packed_nibbles()) return e4m3_value(codes[static_cast<size_t>(n * K + k)]);
    const uint8_t byte = codes[static_cast<size_t>(n * (K / 2) + k / 2)];
    const uint8_t nibble = (k & 1) ? static_cast<uint8_t>(byte >> 4) : static_cast<uint8_t>(byte & 0xFu);
    return format.kind == MxKind::MxInt4 ? mxint4_value(nibble) : e2m1_value(nibble);
  }
  // The block scale of (n, group g): 2^(s-127) or the E4M3 value; exact.
  double scale_at(int64_t n, int64_t g) const {
    const uint8_t s = scales[static_cast<size_t>(n * groups() + g)];
    return format.e4m3_scales() ? static_cast<double>(e4m3_value(s)) : e8m0_value(s);
  }
  double bias_at(int64_t n) const {  // exact: F16/BF16/F32 values are doubles
    return bias.empty() ? 0.0 : load_activation(bias.data() + n * static_cast<int64_t>(dtype_size(bias_dtype)), bias_dtype);
  }
  uint64_t resident_bytes() const;
};

// Validates and copies `<prefix>weight_packed` (or `<prefix>weight` for MXFP8),
// `<prefix>weight_scale`, for NVFP4 `<prefix>weight_global_scale`, `<prefix>input_global_scale`
// (required when `act` quantizes NV activations, else read and unused), and `<prefix>bias`
// (optional unless require_bias). Rejects NaN scales and NaN FP8 elements with the tensor and
// index, and a global scale that is not a positive finite number. K must be a positive multiple of
// the format's group, N positive.
MxMatrix load_mx_matrix(BundleTensors& tensors, const std::string& layer, const std::string& prefix,
                        int64_t K, int64_t N, const MxFormat& format, const ActQuant& act,
                        bool require_bias);

}  // namespace incq::inc_cpu

#endif
