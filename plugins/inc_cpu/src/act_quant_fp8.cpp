#include "act_quant_fp8.hpp"

#include <algorithm>
#include <cmath>

namespace incq::inc_cpu {
namespace {

// fp32(1 / (448 * 512)): one fp32 division, as the contract spells it.
const float kMinScale = 1.0f / (kE4m3Max * 512.0f);

}  // namespace

float round_to_e4m3(float v) {
  if (v == 0.0f) return v;
  const float a = std::fabs(v);
  if (a >= kE4m3Max) return std::copysign(kE4m3Max, v);
  // E4M3 keeps 3 fraction bits: in the binade [2^e, 2^(e+1)) the spacing is 2^(e-3); below the
  // smallest normal 2^-6 the subnormal spacing is 2^-9. Scaling by a power of two is exact, so
  // nearbyint (round to nearest even in the default mode) does the whole rounding.
  int exp2 = 0;
  std::frexp(a, &exp2);  // a = f * 2^exp2, f in [0.5, 1): binade exponent is exp2 - 1
  const int quantum = std::max(exp2 - 1, -6) - 3;
  const float rounded = std::ldexp(std::nearbyint(std::ldexp(a, -quantum)), quantum);
  return std::copysign(std::min(rounded, kE4m3Max), v);
}

void quantize_row_fp8_e4m3(const float* x, int64_t K, int64_t group, double* out) {
  const int64_t step = group > 0 ? group : K;
  for (int64_t g0 = 0; g0 < K; g0 += step) {
    const int64_t g1 = std::min(K, g0 + step);
    float amax = 0.0f;
    for (int64_t k = g0; k < g1; ++k) amax = std::max(amax, std::fabs(x[k]));
    const float s = std::max(amax / kE4m3Max, kMinScale);
    for (int64_t k = g0; k < g1; ++k) {
      const float q = round_to_e4m3(x[k] / s);
      out[k] = static_cast<double>(q) * static_cast<double>(s);
    }
  }
}

}  // namespace incq::inc_cpu
