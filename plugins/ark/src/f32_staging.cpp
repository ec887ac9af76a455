#include "f32_staging.hpp"

#include <cstring>
#include <vector>

#include "incq/plugin_helpers.hpp"

namespace incq::ark {
namespace {

thread_local std::vector<float> t_input;
thread_local std::vector<float> t_output;

bool dense_f32(const incq_tensor& t) {
  return t.dtype == INCQ_DTYPE_F32 && t.strides[1] == 1 && (t.shape[0] <= 1 || t.strides[0] == t.shape[1]);
}

const uint8_t* row_ptr(const incq_tensor& t, int64_t row) {
  return static_cast<const uint8_t*>(t.data) + t.byte_offset +
         static_cast<size_t>(row * t.strides[0]) * dtype_size(t.dtype);
}

}  // namespace

const float* stage_input(const incq_tensor& x) {
  const int64_t M = x.shape[0], K = x.shape[1];
  if (dense_f32(x)) return reinterpret_cast<const float*>(row_ptr(x, 0));
  t_input.resize(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* src = row_ptr(x, m);
    float* dst = t_input.data() + m * K;
    for (int64_t k = 0; k < K; ++k) {
      const uint8_t* p = src + static_cast<size_t>(k * x.strides[1]) * dtype_size(x.dtype);
      uint16_t h;
      switch (x.dtype) {
        case INCQ_DTYPE_F32: std::memcpy(&dst[k], p, 4); break;
        case INCQ_DTYPE_BF16: std::memcpy(&h, p, 2); dst[k] = bf16_to_float(h); break;
        default: std::memcpy(&h, p, 2); dst[k] = half_to_float(h); break;
      }
    }
  }
  return t_input.data();
}

float* output_target(incq_tensor& y) {
  if (dense_f32(y)) return reinterpret_cast<float*>(const_cast<uint8_t*>(row_ptr(y, 0)));
  t_output.resize(static_cast<size_t>(y.shape[0] * y.shape[1]));
  return t_output.data();
}

void finish_output(incq_tensor& y, const float* result) {
  if (dense_f32(y)) return;
  const int64_t M = y.shape[0], N = y.shape[1];
  for (int64_t m = 0; m < M; ++m) {
    uint8_t* dst = const_cast<uint8_t*>(row_ptr(y, m));
    for (int64_t n = 0; n < N; ++n) {
      uint8_t* p = dst + static_cast<size_t>(n * y.strides[1]) * dtype_size(y.dtype);
      const float v = result[m * N + n];
      uint16_t h;
      switch (y.dtype) {
        case INCQ_DTYPE_F32: std::memcpy(p, &v, 4); break;
        case INCQ_DTYPE_BF16: h = float_to_bf16(v); std::memcpy(p, &h, 2); break;
        default: h = float_to_half(v); std::memcpy(p, &h, 2); break;
      }
    }
  }
}

}  // namespace incq::ark
