#include "act_quant_int8.hpp"

#include <algorithm>
#include <cmath>

namespace incq::inc_cpu {

float quantize_row_int8(const float* x, int64_t K, int8_t* q) {
  float a = 0.0f;
  for (int64_t k = 0; k < K; ++k) a = std::max(a, std::fabs(x[k]));
  const float s = a / 127.0f;  // one fp32 division, rounded to nearest even
  for (int64_t k = 0; k < K; ++k) {
    if (s == 0.0f) {
      q[k] = 0;
      continue;
    }
    // nearbyint rounds ties to even in the default rounding mode; fl32(x / s) can exceed 127 by a
    // rounding of s, hence the clamp (127.5 and up would otherwise wrap).
    const float r = std::nearbyint(x[k] / s);
    q[k] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, r)));
  }
  return s;
}

}  // namespace incq::inc_cpu
