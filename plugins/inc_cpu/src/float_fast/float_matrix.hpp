// The one weight layout of inc_cpu's fast float-format kernels (FP8 e4m3/e5m2 with any scale grid,
// MXFP4, MXFP8, NVFP4, MXINT4): element codes of [N, K] as the kernels read them, the scale grid in
// its narrowest exact storage, and the input quantizer. Built once at process time from the
// reference's validated matrices (Fp8Matrix, MxMatrix), so every check and message of the reference
// loaders applies unchanged. Resident bytes never exceed the checkpoint's.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FLOAT_MATRIX_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FLOAT_MATRIX_HPP

#include <cstdint>
#include <cstring>
#include <vector>

#include "fp8_weights.hpp"
#include "incq/plugin_helpers.hpp"
#include "mx_weights.hpp"
#include "ref_fp8_linear.hpp"

namespace incq::inc_cpu {

enum class FloatElem : uint8_t {
  Fp8,  // one byte per element, [N, K]; decoded through binary16 (see fp8_half_shift)
  Fp4   // one nibble per element, [N, K/2], repacked per 32-element block (see repack_nibbles)
};

// How scales are stored: F32/BF16/F16 (FP8 scale grids, kept in the narrowest of these that holds
// every value exactly), E8M0 bytes (MX), E4M3 bytes (NVFP4).
enum class ScaleStore : uint8_t { F32, BF16, F16, E8M0, E4M3 };

enum class InputQuant : uint8_t { None, Fp8, Mx };  // Mx covers MX_FP, MX_INT and NV_FP (ActQuant)

struct FloatMatrix {
  int64_t N = 0;
  int64_t K = 0;
  FloatElem elem = FloatElem::Fp8;
  // FP8 -> binary16 bits: (sign_extend(code) << shift) & mask. E5M2 is the top byte of a binary16
  // (shift 8, mask 0xFFFF); E4M3 lands as a binary16 2^8 too small (shift 7, mask 0xBFFF drops the
  // duplicated sign), subnormals included, and the 2^8 is folded into `post`.
  int fp8_shift = 8;
  uint16_t fp8_mask = 0xFFFF;
  float lut[16] = {};  // Fp4: nibble -> value (E2M1 or MXINT4), exact
  // bf16 mode (Fp8): low / high byte of the bf16 bits of |value(code)| for codes 0..127 (exact for
  // every E4M3 / E5M2 value); bf16_ok when the grid suits that kernel (one group per row or groups
  // of a multiple of 64 elements); bf16_mode when the layer's compute_type allows it (auto, bf16).
  uint8_t bf16_lo[128] = {};
  uint8_t bf16_hi[128] = {};
  bool bf16_ok = false;
  bool bf16_mode = false;
  std::vector<uint8_t> codes;

  ScaleStore scale_store = ScaleStore::F32;
  std::vector<uint8_t> scales;
  int64_t rows_per_scale = 1;  // scale(n, g) = scales[(n / rows_per_scale) * scale_cols + g]
  int64_t group = 1;           // elements of K per scale (g = k / group)
  int64_t scale_cols = 1;

  double post_mul = 1.0;  // y = dot * post_mul / post_div + bias (both exact powers of two or the
  double post_div = 1.0;  // NVFP4 weight_global_scale, divided once at the end as the reference does)
  ScaleStore bias_store = ScaleStore::F32;  // F32/BF16/F16 (narrowest exact)
  std::vector<uint8_t> bias;                // empty: no bias

  InputQuant input = InputQuant::None;
  Fp8ActQuant fp8_act;  // InputQuant::Fp8
  ActQuant mx_act;      // InputQuant::Mx

  const float* scale_table = nullptr;  // E8M0 / E4M3 scales: the value of each byte (static table)

  // scale_row = n / rows_per_scale. Inline: the kernels read one per group and weight row (every
  // 16 or 32 elements for MX / NV), where an out-of-line call showed.
  float scale_at(int64_t scale_row, int64_t g) const {
    const size_t i = static_cast<size_t>(scale_row * scale_cols + g);
    uint16_t h;
    float f;
    switch (scale_store) {
      case ScaleStore::F32: std::memcpy(&f, scales.data() + 4 * i, 4); return f;
      case ScaleStore::BF16: std::memcpy(&h, scales.data() + 2 * i, 2); return bf16_to_float(h);
      case ScaleStore::F16: std::memcpy(&h, scales.data() + 2 * i, 2); return half_to_float(h);
      default: return scale_table[scales[i]];
    }
  }
  float bias_at(int64_t n) const;
  uint64_t resident_bytes() const { return codes.size() + scales.size() + bias.size(); }
};

FloatMatrix float_matrix_from_fp8(const Fp8Matrix& m, const Fp8ActQuant& act);
FloatMatrix float_matrix_from_mx(const MxMatrix& m);

// 256-entry value tables for byte scales (E8M0 NaN 255 and E4M3 NaNs are rejected at load).
const float* e8m0_float_table();
const float* e4m3_float_table();

}  // namespace incq::inc_cpu

#endif
