// The NVFP4 block rule shared by NV weights and NV activations (docs/formats.md §3, §4): an e4m3
// scale per 16 elements relative to a per-tensor fp32 global scale, E2M1 elements. Every step is
// the fp32 operation AutoRound 0.16.1 performs (auto_round/data_type/nvfp.py ref_nvfp4_quant), so
// the codes match its bit for bit.
#pragma once

#include <cstdint>

namespace incq::host::quant {

struct NvBlockScale {
  uint8_t code = 0;      // e4m3 code of the block scale (what weight_scale stores)
  float multiplier = 0;  // o: element x is quantized as E2M1(clamp(fp32(x * o), ±6)); 0 when the block is zero
  float factor = 0;      // fp32(1/o) (0 when o is 0): the dequantized element is q * factor
};

// t = fp32(amax · fp32(1/6)); s = e4m3(clamp(fp32(g · t), ±448)); d = fp32(s · r), r = g ? fp32(1/g) : 0;
// o = d ? fp32(1/d) : 0; factor = o ? fp32(1/o) : 0 (AutoRound's get_reciprocal maps 0 to 0).
// g is the layer's global scale (weight_global_scale or input_global_scale), amax = max|x| of the block.
NvBlockScale nv_block_scale(float amax, float g);

// The E2M1 nibble of x in a block with scale b.
uint8_t nv_quantize_element(float x, const NvBlockScale& b);

}  // namespace incq::host::quant
