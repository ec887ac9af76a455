#include "float_matrix.hpp"

#include <array>
#include <cmath>
#include <cstring>

#include "fp8_decode.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

// Stores `values` in the narrowest of BF16 / F16 / F32 that holds every one exactly. A checkpoint's
// BF16 or F16 tensor always fits its own dtype, so the bytes never exceed the checkpoint's, while
// the kernels read one of three fixed encodings instead of a per-element dtype switch.
template <typename Get>
void store_exact(size_t count, Get&& get, ScaleStore* store, std::vector<uint8_t>* bytes) {
  bool bf16 = true, f16 = true;
  for (size_t i = 0; i < count && (bf16 || f16); ++i) {
    const float v = get(i);
    if (bf16_to_float(float_to_bf16(v)) != v) bf16 = false;
    if (half_to_float(float_to_half(v)) != v) f16 = false;
  }
  *store = bf16 ? ScaleStore::BF16 : f16 ? ScaleStore::F16 : ScaleStore::F32;
  const size_t width = *store == ScaleStore::F32 ? 4 : 2;
  bytes->assign(count * width, 0);
  for (size_t i = 0; i < count; ++i) {
    const float v = get(i);
    if (*store == ScaleStore::F32) {
      std::memcpy(bytes->data() + 4 * i, &v, 4);
    } else {
      const uint16_t h = *store == ScaleStore::BF16 ? float_to_bf16(v) : float_to_half(v);
      std::memcpy(bytes->data() + 2 * i, &h, 2);
    }
  }
}

float stored_at(ScaleStore store, const std::vector<uint8_t>& bytes, size_t i) {
  uint16_t h;
  float f;
  switch (store) {
    case ScaleStore::F32: std::memcpy(&f, bytes.data() + 4 * i, 4); return f;
    case ScaleStore::BF16: std::memcpy(&h, bytes.data() + 2 * i, 2); return bf16_to_float(h);
    case ScaleStore::F16: std::memcpy(&h, bytes.data() + 2 * i, 2); return half_to_float(h);
    case ScaleStore::E8M0: return e8m0_float_table()[bytes[i]];
    case ScaleStore::E4M3: return e4m3_float_table()[bytes[i]];
  }
  return 0.0f;
}

// Nibble codes [N, K/2] (low nibble = even k) -> per block of L = min(32, K - k0) elements, byte j
// of the block holds element k0 + j (low nibble) and k0 + j + L/2 (high nibble): one 16-lane
// zero-extension then yields two runs of consecutive k, matching x without any shuffle.
std::vector<uint8_t> repack_nibbles(const std::vector<uint8_t>& src, int64_t N, int64_t K) {
  std::vector<uint8_t> out(src.size(), 0);
  const int64_t row_bytes = K / 2;
  for (int64_t n = 0; n < N; ++n) {
    const uint8_t* s = src.data() + n * row_bytes;
    uint8_t* d = out.data() + n * row_bytes;
    auto nib = [&](int64_t k) { return static_cast<uint8_t>((s[k / 2] >> ((k & 1) * 4)) & 0xF); };
    for (int64_t k0 = 0; k0 < K; k0 += 32) {
      const int64_t half = std::min<int64_t>(32, K - k0) / 2;
      for (int64_t j = 0; j < half; ++j)
        d[k0 / 2 + j] = static_cast<uint8_t>(nib(k0 + j) | (nib(k0 + j + half) << 4));
    }
  }
  return out;
}

// The bf16 tables of an FP8 element table (value of each code 0..255).
void set_bf16_tables(const float* decode, FloatMatrix* f) {
  for (int c = 0; c < 128; ++c) {
    const uint16_t b = float_to_bf16(decode[c]);  // exact: 3 (E4M3) or 2 (E5M2) mantissa bits
    f->bf16_lo[c] = static_cast<uint8_t>(b & 0xFF);
    f->bf16_hi[c] = static_cast<uint8_t>(b >> 8);
  }
  f->bf16_ok = f->scale_cols == 1 || f->group % 64 == 0;  // groups end where 64-blocks end
}

}  // namespace

const float* e8m0_float_table() {
  static const std::array<float, 256> t = [] {
    std::array<float, 256> a{};
    for (int s = 0; s < 256; ++s) a[static_cast<size_t>(s)] = static_cast<float>(std::ldexp(1.0, s - 127));
    return a;
  }();
  return t.data();
}

const float* e4m3_float_table() { return fp8_decode_table(INCQ_DTYPE_F8_E4M3); }

float FloatMatrix::bias_at(int64_t n) const {
  return bias.empty() ? 0.0f : stored_at(bias_store, bias, static_cast<size_t>(n));
}

FloatMatrix float_matrix_from_fp8(const Fp8Matrix& m, const Fp8ActQuant& act) {
  FloatMatrix f;
  f.N = m.N;
  f.K = m.K;
  f.elem = FloatElem::Fp8;
  const bool e4m3 = m.decode == fp8_decode_table(INCQ_DTYPE_F8_E4M3);
  f.fp8_shift = e4m3 ? 7 : 8;
  f.fp8_mask = e4m3 ? 0xBFFF : 0xFFFF;
  f.post_mul = e4m3 ? 256.0 : 1.0;
  f.codes = m.codes;
  store_exact(m.scales.size(), [&](size_t i) { return m.scales[i]; }, &f.scale_store, &f.scales);
  f.rows_per_scale = m.rows_per_scale;
  f.group = m.cols_per_scale;
  f.scale_cols = m.scale_cols;
  set_bf16_tables(m.decode, &f);
  if (!m.bias.empty()) store_exact(m.bias.size(), [&](size_t i) { return m.bias[i]; }, &f.bias_store, &f.bias);
  if (act.enabled) {
    f.input = InputQuant::Fp8;
    f.fp8_act = act;
  }
  return f;
}

FloatMatrix float_matrix_from_mx(const MxMatrix& m) {
  FloatMatrix f;
  f.N = m.N;
  f.K = m.K;
  f.group = m.format.group;
  f.scale_cols = m.groups();
  f.rows_per_scale = 1;
  if (m.format.packed_nibbles()) {
    f.elem = FloatElem::Fp4;
    for (int c = 0; c < 16; ++c) {
      const uint8_t nib = static_cast<uint8_t>(c);
      f.lut[c] = m.format.kind == MxKind::MxInt4 ? mxint4_value(nib) : e2m1_value(nib);
    }
    f.codes = repack_nibbles(m.codes, m.N, m.K);
  } else {  // MXFP8: E4M3 elements
    f.elem = FloatElem::Fp8;
    f.fp8_shift = 7;
    f.fp8_mask = 0xBFFF;
    f.post_mul = 256.0;
    f.codes = m.codes;
    set_bf16_tables(e4m3_float_table(), &f);
  }
  f.scale_store = m.format.e4m3_scales() ? ScaleStore::E4M3 : ScaleStore::E8M0;
  f.scale_table = m.format.e4m3_scales() ? e4m3_float_table() : e8m0_float_table();
  f.scales = m.scales;
  f.post_div = m.weight_global_scale;
  if (!m.bias.empty()) {
    store_exact(static_cast<size_t>(m.N), [&](size_t i) { return static_cast<float>(m.bias_at(static_cast<int64_t>(i))); },
                &f.bias_store, &f.bias);
  }
  if (m.input_quant.kind != ActKind::None) {
    f.input = InputQuant::Mx;
    f.mx_act = m.input_quant;
  }
  return f;
}

}  // namespace incq::inc_cpu
