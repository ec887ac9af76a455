#include "quant/nv_block.hpp"

#include <algorithm>

#include "quant/float_formats.hpp"

namespace incq::host::quant {

// Each line is one fp32 operation (no FMA contraction: the build targets baseline x86-64, and the
// statements are kept separate so that a contracting compiler still rounds like torch does).
NvBlockScale nv_block_scale(float amax, float g) {
  const float sixth = static_cast<float>(1.0 / 6.0);  // a Python float times an fp32 tensor is an fp32 op
  const float t = amax * sixth;
  float s = g * t;
  s = std::clamp(s, -448.0f, 448.0f);
  NvBlockScale b;
  b.code = encode_e4m3(s);
  const float se4m3 = static_cast<float>(decode_e4m3(b.code));
  const float r = g == 0.0f ? 0.0f : 1.0f / g;
  const float d = se4m3 * r;
  b.multiplier = d == 0.0f ? 0.0f : 1.0f / d;
  b.factor = b.multiplier == 0.0f ? 0.0f : 1.0f / b.multiplier;
  return b;
}

uint8_t nv_quantize_element(float x, const NvBlockScale& b) {
  float y = x * b.multiplier;
  y = std::clamp(y, -6.0f, 6.0f);
  return encode_e2m1(y);
}

}  // namespace incq::host::quant
