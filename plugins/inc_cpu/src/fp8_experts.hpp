// The experts of an FP8 MoE layer: three Fp8Matrix per expert.
#ifndef INCQ_INC_CPU_FP8_EXPERTS_HPP
#define INCQ_INC_CPU_FP8_EXPERTS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "fp8_weights.hpp"

namespace incq::inc_cpu {

struct Fp8Experts {
  int64_t num_experts = 0;
  int64_t hidden = 0;        // H
  int64_t intermediate = 0;  // I
  std::vector<Fp8Matrix> gate;  // [I, H] per expert (H -> I)
  std::vector<Fp8Matrix> up;    // [I, H]
  std::vector<Fp8Matrix> down;  // [H, I] (I -> H)
  uint64_t resident_bytes() const;
};

// Loads "<e>.gate_proj.*", "<e>.up_proj.*", "<e>.down_proj.*" for e in [0, num_experts)
// (plugin_api.h bundle names). Does not call reject_unused(); the caller does, once.
Fp8Experts load_fp8_experts(BundleTensors& tensors, const std::string& layer, int64_t num_experts, int64_t hidden,
                            int64_t intermediate, const Fp8Format& format, bool require_bias);

}  // namespace incq::inc_cpu

#endif
