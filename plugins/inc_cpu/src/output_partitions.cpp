#include "output_partitions.hpp"

namespace incq::inc_cpu {

std::string output_partitions_reason(const LayerSpec& s) {
  int64_t sum = 0;
  for (int64_t part : s.output_partitions) {
    if (part <= 0) return "output partition of size " + std::to_string(part) + " (must be positive)";
    sum += part;
  }
  if (!s.output_partitions.empty() && sum != s.out_features) {
    return "output partitions sum to " + std::to_string(sum) + ", out_features is " + std::to_string(s.out_features);
  }
  return "";
}

}  // namespace incq::inc_cpu
