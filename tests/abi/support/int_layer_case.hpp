// Small integer-quantized Linear and MoE layers for the ABI tests: weights quantized with the host's
// RTN quantizer and packed as a checkpoint would store them, the layer descriptor, seeded
// activations, and the double-precision oracle's answer computed from the PACKED tensors through
// the oracle's own reader (quant::unpack_int), independent of every plugin. With act_bits 8 the
// oracle also quantizes the activations as docs/formats.md §3 defines (x, and for MoE silu(g)*u).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/loaded_layer.hpp"
#include "incq/plugin_api.h"
#include "quant/packed_tensor.hpp"

namespace incq::abi_test {

struct IntScheme {
  int bits = 4;
  bool sym = true;
  incq_packing packing = INCQ_PACKING_GPTQ_V2;
  int group_size = 32;
  int32_t act_dtype = INCQ_DTYPE_F32;
  // 16: weight-only (x reaches the matmul as is). 8: W4A8's dynamic per-token symmetric int8
  // (act_family INT, act_group_size -1): the oracle quantizes each matmul's input with the host's
  // quant::quantize_activations, since a W4A8 implementation is only exact against that.
  int act_bits = 16;
};

std::string describe(const IntScheme& s);

// A checkpoint tensor under its bundle name ("qweight", "3.down_proj.scales").
struct NamedTensor {
  std::string name;
  host::quant::PackedTensor packed;
};

// Everything needed to run one layer and judge its output.
struct LayerCase {
  std::string layer_name;
  IntScheme scheme;
  incq_layer_desc fields{};  // the descriptor without its name (see desc())
  std::vector<NamedTensor> tensors;
  int64_t rows = 0;  // M (Linear) or T (MoE)
  int64_t in_width = 0, out_width = 0;
  std::vector<uint8_t> input;         // [rows, in_width] in act_dtype
  std::vector<int32_t> topk_ids;      // MoE only, [rows, top_k]
  std::vector<float> topk_weights;    // MoE only, [rows, top_k]
  std::vector<double> expected, magnitude;  // oracle y and its error magnitude, [rows, out_width]

  // The layer descriptor; its name points into layer_name.
  incq_layer_desc desc() const;
  // Borrowed views, valid while the case lives.
  std::vector<incq_named_tensor> named_views() const;
  std::vector<host::BundleTensor> bundle_tensors() const;
  incq_tensor input_view() const;
  incq_tensor ids_view() const;
  incq_tensor weights_view() const;
};

// Throws incq::host::Error when the packing cannot store the scheme at these sizes.
LayerCase make_linear_case(const IntScheme& scheme, int64_t M, int64_t K, int64_t N, uint32_t seed);
LayerCase make_moe_case(const IntScheme& scheme, int64_t T, int64_t hidden, int64_t intermediate,
                        int64_t num_experts, int top_k, uint32_t seed);

// An output buffer [rows, out_width] in the case's activation dtype, and a view of it.
std::vector<uint8_t> output_buffer(const LayerCase& c);
incq_tensor output_view(const LayerCase& c, std::vector<uint8_t>& buffer);

// Compares an output buffer with the oracle under the ABI's contract:
//   |y - y_ref| <= tol * mag + rounding of y to its dtype (unit roundoff u of the dtype times
//   |y_ref| + tol * mag, or half its smallest subnormal, whichever is larger).
// Returns "" when every element passes; otherwise how many failed and the worst one.
std::string contract_violation(const LayerCase& c, const std::vector<uint8_t>& output, double tolerance);

incq_device cpu_device();
incq_exec serial_exec();

}  // namespace incq::abi_test
