#include "float_input.hpp"

#include <cstring>

#include "act_quant_fp8.hpp"
#include "incq/plugin_helpers.hpp"
#include "mx_act_quant.hpp"

namespace incq::inc_cpu {

void load_row_f32(const MatrixView& v, int64_t r, float* out) {
  const char* p = static_cast<const char*>(v.at(r, 0));
  if (v.dtype == INCQ_DTYPE_F32) {
    std::memcpy(out, p, static_cast<size_t>(v.cols) * 4);
    return;
  }
  const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
  if (v.dtype == INCQ_DTYPE_BF16) {
    for (int64_t k = 0; k < v.cols; ++k) out[k] = bf16_to_float(h[k]);
  } else {
    for (int64_t k = 0; k < v.cols; ++k) out[k] = half_to_float(h[k]);
  }
}

void float_input_row(const FloatMatrix& w, const float* src, float* out_f, double* out_d, double* tmp) {
  const int64_t K = w.K;
  if (w.input == InputQuant::None) {
    if (out_f != nullptr && out_f != src) std::memcpy(out_f, src, static_cast<size_t>(K) * 4);
    if (out_d != nullptr)
      for (int64_t k = 0; k < K; ++k) out_d[k] = src[k];
    return;
  }
  if (w.input == InputQuant::Fp8) {
    quantize_row_fp8_e4m3(src, K, w.fp8_act.group, tmp);
  } else {
    for (int64_t k = 0; k < K; ++k) tmp[k] = src[k];
    act_quant_row(w.mx_act, tmp, K);
  }
  if (out_f != nullptr)
    for (int64_t k = 0; k < K; ++k) out_f[k] = static_cast<float>(tmp[k]);
  if (out_d != nullptr && out_d != tmp) std::memcpy(out_d, tmp, static_cast<size_t>(K) * 8);
}

}  // namespace incq::inc_cpu
