#include "float_linear_fast.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "float_gemm.hpp"
#include "float_input.hpp"
#include "incq/plugin_helpers.hpp"
#include "scratch_pool.hpp"
#include "float_fast/fast_matrix_arg.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

constexpr size_t kRowBudget = size_t{4} << 20;  // bytes of converted x per chunk
constexpr int64_t kColumnsPerItem = 64;
constexpr int64_t kRowsPerItem = 64;

int64_t chunk_rows(const FloatMatrix& w) {
  const size_t per_row = static_cast<size_t>(w.K) * (4 + (quantizes_input(w) ? 8 : 0));
  return std::clamp<int64_t>(static_cast<int64_t>(kRowBudget / per_row), 1, 1024);
}

// bf16 mode GEMV (float_gemm.hpp): FP8 weights decoded to bf16, x used as given (exact in bf16).
constexpr int64_t kBf16MaxRows = 4;
int64_t padded_k(const FloatMatrix& w) { return (w.K + 63) / 64 * 64; }

bool use_bf16_gemv(const FloatMatrix& w, int32_t x_dtype, int64_t M) {
  return w.bf16_mode && w.bf16_ok && w.elem == FloatElem::Fp8 && w.input == InputQuant::None &&
         x_dtype == INCQ_DTYPE_BF16 && M <= kBf16MaxRows && fp8_bf16_cpu_supported();
}

size_t need_bytes(const FloatMatrix& w, int64_t rows) {
  size_t n = scratch_bytes(static_cast<size_t>(rows * w.K) * 4);
  if (w.bf16_ok) n += scratch_bytes(static_cast<size_t>(kBf16MaxRows * padded_k(w)) * 2);
  if (quantizes_input(w)) n += scratch_bytes(static_cast<size_t>(rows * w.K) * 8);
  return n;
}

}  // namespace

size_t float_linear_scratch_bytes(const FloatMatrix& w) { return need_bytes(w, chunk_rows(w)); }

void float_linear_apply_fast(const FloatMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                             incq_tensor* y, const incq_exec* exec) {
  const MatrixView xv = fast_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = fast_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  const int64_t M = xv.rows;
  if (M == 0) return;
  // FP8 activation quantization refuses non-finite inputs (as the reference does) before any
  // output is written, so the whole of x is checked up front.
  if (w.input == InputQuant::Fp8) {
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t k = 0; k < w.K; ++k) {
        const double v = load_activation(xv.at(m, k), xv.dtype);
        if (!std::isfinite(v)) {
          fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': x[" + std::to_string(m) + ", " + std::to_string(k) +
                                              "] is " + (std::isnan(v) ? "NaN" : "Inf") +
                                              ": FP8 activation quantization needs finite inputs");
        }
      }
    }
  }
  ScratchPool& pool = ScratchPool::instance();
  if (use_bf16_gemv(w, xv.dtype, M)) {
    ScratchPool::Lease lease(pool, pool.acquire_slot(need_bytes(w, std::min(M, chunk_rows(w)))));
    const int64_t ldx = padded_k(w);
    uint16_t* xb = lease.take<uint16_t>(static_cast<size_t>(M * ldx));
    for (int64_t m = 0; m < M; ++m)
      permute_bf16_row_fp8w(static_cast<const uint16_t*>(xv.at(m, 0)), w.K, xb + m * ldx);
    const int64_t col_items = (w.N + kColumnsPerItem - 1) / kColumnsPerItem;
    auto gemv = [&](int64_t c) {
      const int64_t n0 = c * kColumnsPerItem, n1 = std::min(w.N, n0 + kColumnsPerItem);
      f32_fp8w_bf16x_gemv_4x64_avx512bf16(w, xb, ldx, M, n0, n1, GemmOut{yv.at(0, n0), yv.dtype, yv.row_stride});
    };
    for_each_block(exec, col_items, gemv);
    return;
  }
  const int64_t Mc = std::min(M, chunk_rows(w));
  ScratchPool::Lease lease(pool, pool.acquire_slot(need_bytes(w, Mc)));
  float* xf = lease.take<float>(static_cast<size_t>(Mc * w.K));
  double* tmp = quantizes_input(w) ? lease.take<double>(static_cast<size_t>(Mc * w.K)) : nullptr;

  for (int64_t m0 = 0; m0 < M; m0 += Mc) {
    const int64_t rows = std::min(Mc, M - m0);
    auto convert = [&](int64_t i) {
      float* row = xf + i * w.K;
      load_row_f32(xv, m0 + i, row);
      if (quantizes_input(w)) float_input_row(w, row, row, nullptr, tmp + i * w.K);
    };
    for_each_block(exec, rows, convert);

    const int64_t col_items = (w.N + kColumnsPerItem - 1) / kColumnsPerItem;
    const int64_t row_items = (rows + kRowsPerItem - 1) / kRowsPerItem;
    auto gemm = [&](int64_t item) {
      const int64_t c = item % col_items, r = item / col_items;
      const int64_t n0 = c * kColumnsPerItem, n1 = std::min(w.N, n0 + kColumnsPerItem);
      const int64_t r0 = r * kRowsPerItem, r1 = std::min(rows, r0 + kRowsPerItem);
      const GemmOut out{yv.at(m0 + r0, n0), yv.dtype, yv.row_stride};
      f32_floatw_gemm_4x4_avx512(w, xf + r0 * w.K, w.K, r1 - r0, n0, n1, out);
    };
    for_each_block(exec, col_items * row_items, gemm);
  }
}

}  // namespace incq::inc_cpu
