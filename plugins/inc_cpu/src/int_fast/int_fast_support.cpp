#include "int_fast/int_fast_support.hpp"

#include "int_fast/int_packed_matrix.hpp"
#include "int_wo_support.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// Upper bound on the segments repacking makes: every group cut to <= kMaxSegmentRows rows (with
// g_idx the groups' sizes are unknown here, so count as if every group could be a partial one).
int64_t max_segments(const LayerSpec& s) {
  const int64_t K = s.in_features;
  const int64_t G = s.group_size == -1 ? K : s.group_size;
  const int64_t groups = (K + G - 1) / G;
  return groups + (K + kMaxSegmentRows - 1) / kMaxSegmentRows;
}

std::string segment_reason(const LayerSpec& s) {
  const int64_t n = max_segments(s);
  if (n > kMaxSegments) {
    return "K = " + std::to_string(s.in_features) + " with group_size " + std::to_string(s.group_size) +
           " needs up to " + std::to_string(n) + " fp32 accumulation segments; the declared tolerance covers " +
           std::to_string(kMaxSegments);
  }
  return "";
}

}  // namespace

std::string int_fast_linear_reason(const LayerSpec& s, const incq_device* device) {
  std::string why = int_wo_linear_reason(s, device);
  if (why.empty()) why = segment_reason(s);
  return why;
}

std::string w4a8_fast_linear_reason(const LayerSpec& s, const incq_device* device) {
  std::string why = w4a8_linear_reason(s, device);
  if (why.empty()) why = segment_reason(s);
  return why;
}

}  // namespace incq::inc_cpu::int_fast
