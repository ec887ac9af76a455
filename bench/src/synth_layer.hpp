// The checkpoint tensors of one benchmarked layer, synthesized in memory with the host's own
// round-to-nearest quantizer and packers (host_stub/quant) — the bytes a real AutoRound export of
// that scheme holds — plus the ABI layer description the host would build for it.
//
// A MoE synthesizes a few distinct experts and lets every expert's bundle entries point at one of
// them: the plugin copies each expert into its own storage, so the processed layer still holds
// E separate experts in memory (what cold-cache timing needs), at a fraction of the quantizing time.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/loaded_layer.hpp"
#include "problem_list.hpp"
#include "quant/packed_tensor.hpp"
#include "scheme_names.hpp"

namespace incq::bench {

struct SynthLayer {
  BenchScheme scheme;
  Problem problem;
  std::string name;                          // module name handed to the plugin
  incq_layer_desc desc{};                    // points into `name`
  std::vector<host::BundleTensor> bundle;    // views into `storage`
  int32_t packing = 0;
  uint64_t bytes_per_copy = 0;               // checkpoint bytes of the whole layer (all experts)
  uint64_t bytes_per_expert = 0;             // MoE: gate + up + down of one expert
  std::deque<std::vector<host::quant::PackedTensor>> storage;
};

// Throws incq::host::Error naming the problem and scheme when the quantizer or packer refuses.
// act_dtype: the activation dtype the layer will be applied with.
// with_weights = false: only the scheme and the layer description (for `incq_bench list`).
std::unique_ptr<SynthLayer> synthesize_layer(const Problem& p, int32_t act_dtype, uint64_t seed, bool with_weights = true);

}  // namespace incq::bench
