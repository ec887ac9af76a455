// A layer description read out of an incq_layer_desc, honouring struct_size (fields the host's
// header did not have are absent and get their documented defaults).
#ifndef INCQ_INC_CPU_LAYER_SPEC_HPP
#define INCQ_INC_CPU_LAYER_SPEC_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::inc_cpu {

struct LayerSpec {
  std::string name;  // desc->name, or "<unnamed>"
  int32_t module_kind = 0;
  // scheme
  int32_t family = 0;
  int32_t bits = 0;
  int32_t group_size = 0;
  int32_t sym = 0;
  int32_t packing = 0;
  int32_t act_bits = 16;  // absent in the host's scheme -> weight-only
  int32_t has_g_idx = 0;
  // Scheme fields for float formats and activation quantization; defaults are what a scheme
  // without them means (no FP element dtype, no blocks, unquantized activations).
  int32_t act_dynamic = 0;
  int32_t weight_dtype = 0;    // FP8/MX/NV element dtype (incq_dtype)
  int32_t block_n = 0;         // FP8 block scales, else 0
  int32_t block_k = 0;
  int32_t act_family = 0;      // INCQ_FAMILY_DENSE: activations stay unquantized
  int32_t act_group_size = 0;  // -1: one scale per row of x
  int32_t act_sym = 1;
  // layer
  int32_t act_dtype = 0;
  int32_t has_bias = 0;
  int64_t in_features = 0;
  int64_t out_features = 0;
  int64_t num_experts = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int32_t top_k = 0;
  std::vector<int64_t> output_partitions;  // empty for a plain Linear
};

// Throws StatusError: INVALID_ARGUMENT for a NULL desc, ABI when struct_size lacks a field the
// reference needs.
LayerSpec read_layer_desc(const incq_layer_desc* desc);

}  // namespace incq::inc_cpu

#endif
