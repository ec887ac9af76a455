// The experts of a block-scaled MoE layer: three MxMatrix per expert, each with its own input
// quantizer (AutoRound quantizes every expert projection's input in that projection's module).
#ifndef INCQ_INC_CPU_MX_EXPERTS_HPP
#define INCQ_INC_CPU_MX_EXPERTS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "mx_weights.hpp"

namespace incq::inc_cpu {

struct MxExperts {
  int64_t num_experts = 0;
  int64_t hidden = 0;        // H
  int64_t intermediate = 0;  // I
  std::vector<MxMatrix> gate;  // [H -> I] per expert
  std::vector<MxMatrix> up;    // [H -> I]
  std::vector<MxMatrix> down;  // [I -> H]
  uint64_t resident_bytes() const;
};

// Loads "<e>.gate_proj.*", "<e>.up_proj.*", "<e>.down_proj.*" for e in [0, num_experts)
// (plugin_api.h bundle names). Does not call reject_unused(); the caller does, once.
MxExperts load_mx_experts(BundleTensors& tensors, const std::string& layer, int64_t num_experts, int64_t hidden,
                          int64_t intermediate, const MxFormat& format, const ActQuant& act, bool require_bias);

}  // namespace incq::inc_cpu

#endif
