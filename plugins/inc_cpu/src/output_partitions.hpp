// The output-partition sizes of a merged Linear (qkv, gate_up) must be positive and add up to N.
#ifndef INCQ_INC_CPU_OUTPUT_PARTITIONS_HPP
#define INCQ_INC_CPU_OUTPUT_PARTITIONS_HPP

#include <string>

#include "layer_spec.hpp"

namespace incq::inc_cpu {

// "" when spec.output_partitions is empty or consistent with out_features, else why not.
std::string output_partitions_reason(const LayerSpec& spec);

}  // namespace incq::inc_cpu

#endif
