#include "int_fast/int_matmul.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "act_quant_int8.hpp"
#include "incq/plugin_helpers.hpp"
#include "isa/cpu_isa.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

int64_t padded_ld(const IntPackedMatrix& w) { return (w.K_int + 63) / 64 * 64; }
size_t align64(size_t v) { return (v + 63) / 64 * 64; }

float round_to_bf16(float v) { return bf16_to_float(float_to_bf16(v)); }

// Sum of n int8 codes. SSE2 (baseline x86-64): flipping the sign bit maps v to v + 128 as a u8,
// psadbw adds 8 of those into a 64-bit lane; subtract 128 per code at the end. Exact, and ~10x
// the scalar loop, which was about a third of the serial per-call preparation at M = 16.
int32_t sum_codes(const int8_t* p, int64_t n) {
  int64_t i = 0, acc = 0;
#if defined(__SSE2__)
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80)), zero = _mm_setzero_si128();
  __m128i s = zero;
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), flip);
    s = _mm_add_epi64(s, _mm_sad_epu8(v, zero));
  }
  acc = _mm_cvtsi128_si64(s) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s)) - 128 * i;
#endif
  for (; i < n; ++i) acc += p[i];
  return static_cast<int32_t>(acc);
}

}  // namespace

const char* compute_type_name(ComputeType ct) {
  switch (ct) {
    case ComputeType::kFp32: return "fp32";
    case ComputeType::kBf16: return "bf16";
    case ComputeType::kInt8: return "int8";
  }
  return "?";
}

IntKernels select_int_kernels() {
  const isa::CpuFeatures f = isa::active_features();
  IntKernels k;
  if (f.avx512) {
    k.quantize_row = quantize_row_int8_avx512;
    k.round_row_bf16 = round_row_bf16_avx512;
    k.bf16_to_f32_row = bf16_to_f32_row_avx512;
    k.f16_to_f32_row = f16_to_f32_row_avx512;
    k.f32 = f32_qgw_gemm_4x32_avx512;
    k.f32_name = "f32_qgw_gemm_4x32_avx512";
  } else if (f.avx2) {
    k.f32 = f32_qgw_gemm_4x16_avx2;
    k.f32_name = "f32_qgw_gemm_4x16_avx2";
  } else {
    k.f32 = f32_qgw_gemm_scalar;
    k.f32_name = "f32_qgw_gemm_scalar";
  }
  if (f.avx512vnni) {
    k.qd8 = qd8_f32_qgw_gemm_4x32_avx512vnni;
    k.qd8_name = "qd8_f32_qgw_gemm_4x32_avx512vnni";
  } else {
    k.qd8 = qd8_f32_qgw_gemm_scalar;
    k.qd8_name = "qd8_f32_qgw_gemm_scalar";
  }
  return k;
}

size_t activation_scratch_bytes(const IntPackedMatrix& w, ComputeType ct, int64_t rows) {
  const size_t ld = static_cast<size_t>(padded_ld(w)), m = static_cast<size_t>(std::max<int64_t>(rows, 1));
  if (ct != ComputeType::kInt8) return align64(m * ld * sizeof(float));
  // codes (internal order) + codes in checkpoint order (quantizer output) + sx + xsum
  return align64(m * ld) + align64(static_cast<size_t>(w.K)) + align64(m * sizeof(float)) +
         align64(m * static_cast<size_t>(w.num_segments()) * sizeof(int32_t));
}

PreparedActivations prepare_activations(const IntPackedMatrix& w, ComputeType ct, const float* x, int64_t ldx,
                                        int64_t M, void* scratch, const IntKernels* k) {
  auto quantize = k != nullptr && k->quantize_row != nullptr ? k->quantize_row : quantize_row_int8;
  PreparedActivations a;
  a.ct = ct;
  a.M = M;
  a.ld = padded_ld(w);
  char* p = static_cast<char*>(scratch);
  if (ct != ComputeType::kInt8) {
    float* xf = reinterpret_cast<float*>(p);
    for (int64_t m = 0; m < M; ++m) {
      float* row = xf + m * a.ld;
      gather_x_internal(w, x + m * ldx, row);
      if (ct == ComputeType::kBf16) {
        if (k != nullptr && k->round_row_bf16 != nullptr) {
          k->round_row_bf16(row, w.K_int);
        } else {
          for (int64_t i = 0; i < w.K_int; ++i) row[i] = round_to_bf16(row[i]);
        }
      }
    }
    a.xf = xf;
    return a;
  }
  const size_t ld = static_cast<size_t>(a.ld), m = static_cast<size_t>(std::max<int64_t>(M, 1));
  int8_t* xq = reinterpret_cast<int8_t*>(p);
  int8_t* q_ckpt = reinterpret_cast<int8_t*>(p + align64(m * ld));
  float* sx = reinterpret_cast<float*>(p + align64(m * ld) + align64(static_cast<size_t>(w.K)));
  int32_t* xsum = reinterpret_cast<int32_t*>(reinterpret_cast<char*>(sx) + align64(m * sizeof(float)));
  for (int64_t r = 0; r < M; ++r) {
    // Per token over the whole checkpoint row (docs/formats.md §3 INT): order-independent, so
    // quantizing before the gather gives the same codes as the oracle.
    sx[r] = quantize(x + r * ldx, w.K, q_ckpt);
    int8_t* row = xq + r * a.ld;
    if (w.k_source.empty()) {
      std::memcpy(row, q_ckpt, static_cast<size_t>(w.K));
      for (int64_t i = w.K; i < w.K_int; ++i) row[i] = 0;
    } else {
      for (int64_t i = 0; i < w.K_int; ++i) {
        const int32_t k = w.k_source[static_cast<size_t>(i)];
        row[i] = k < 0 ? 0 : q_ckpt[k];
      }
    }
    for (int64_t sg = 0; sg < w.num_segments(); ++sg) {
      xsum[r * w.num_segments() + sg] = sum_codes(row + w.seg_begin(sg), w.seg_begin(sg + 1) - w.seg_begin(sg));
    }
  }
  a.xq = xq;
  a.sx = sx;
  a.xsum = xsum;
  return a;
}

void int_matmul_columns(const IntPackedMatrix& w, const IntKernels& k, const PreparedActivations& a,
                        int64_t n_begin, int64_t n_end, float* y, int64_t ldy, bool add_bias) {
  if (a.M <= 0 || n_end <= n_begin) return;
  const int64_t s0 = n_begin / kStripWidth, s1 = (n_end + kStripWidth - 1) / kStripWidth;
  if (a.ct == ComputeType::kInt8) {
    k.qd8(w, a.xq, a.ld, a.sx, a.xsum, a.M, s0, s1, y, ldy);
  } else {
    k.f32(w, a.xf, a.ld, a.M, s0, s1, y, ldy);
  }
  if (add_bias && w.bias_dtype != 0) {
    for (int64_t m = 0; m < a.M; ++m)
      for (int64_t n = n_begin; n < n_end; ++n) y[m * ldy + n] += w.bias_at(n);
  }
}

}  // namespace incq::inc_cpu::int_fast
