// The experts of an integer weight-only MoE layer: three IntWoMatrix per expert.
#ifndef INCQ_INC_CPU_INT_WO_EXPERTS_HPP
#define INCQ_INC_CPU_INT_WO_EXPERTS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "int_wo_matrix.hpp"

namespace incq::inc_cpu {

struct IntWoExperts {
  int64_t num_experts = 0;
  int64_t hidden = 0;        // H
  int64_t intermediate = 0;  // I
  std::vector<IntWoMatrix> gate;  // [H -> I] per expert
  std::vector<IntWoMatrix> up;    // [H -> I]
  std::vector<IntWoMatrix> down;  // [I -> H]
  uint64_t resident_bytes() const;
};

// Loads "<e>.gate_proj.*", "<e>.up_proj.*", "<e>.down_proj.*" for e in [0, num_experts)
// (plugin_api.h bundle names). Does not call reject_unused(); the caller does, once.
IntWoExperts load_int_wo_experts(BundleTensors& tensors, const std::string& layer,
                                 int64_t num_experts, int64_t hidden, int64_t intermediate,
                                 const IntWoFormat& format, bool require_bias);

}  // namespace incq::inc_cpu

#endif
