#include "ref_fp8_linear.hpp"

#include <cmath>

#include "act_quant_fp8.hpp"
#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "fp8_gemm.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

void fp8_quantize_rows(const Fp8ActQuant& aq, const std::string& layer, const std::string& role,
                       const std::vector<double>& x, int64_t rows, int64_t K, std::vector<double>& out) {
  std::vector<float> row(static_cast<size_t>(K));
  out.resize(static_cast<size_t>(rows * K));
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t k = 0; k < K; ++k) {
      const double v = x[static_cast<size_t>(m * K + k)];
      // A NaN or Inf would make the group's scale meaningless (and the contract calls it an error).
      if (!std::isfinite(v)) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': " + role + "[" + std::to_string(m) + ", " +
                                            std::to_string(k) + "] is " + (std::isnan(v) ? "NaN" : "Inf") +
                                            ": FP8 activation quantization needs finite inputs");
      }
      // Activations arrive as F32/BF16/F16 (exact in fp32); MoE intermediates are rounded to fp32
      // here, as the contract converts every activation (docs/formats.md §3).
      row[static_cast<size_t>(k)] = static_cast<float>(v);
    }
    quantize_row_fp8_e4m3(row.data(), K, aq.group, &out[static_cast<size_t>(m * K)]);
  }
}

void ref_fp8_linear_apply(const Fp8Matrix& w, const Fp8ActQuant& aq, const std::string& layer, int32_t act_dtype,
                          const incq_tensor* x, incq_tensor* y, const incq_exec* exec) {
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = check_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  if (xv.rows == 0) return;
  auto store_y = [&](int64_t m, int64_t n, double v) { store_activation(yv.at(m, n), yv.dtype, v); };
  if (!aq.enabled) {
    auto load_x = [&](int64_t m, int64_t k) { return load_activation(xv.at(m, k), xv.dtype); };
    auto block = [&](int64_t b) { fp8_gemm_column_block(w, xv.rows, b, load_x, store_y); };
    for_each_block(exec, fp8_column_block_count(w), block);
    return;
  }
  std::vector<double> exact(static_cast<size_t>(xv.rows * w.K)), quantized;
  for (int64_t m = 0; m < xv.rows; ++m)
    for (int64_t k = 0; k < w.K; ++k) exact[static_cast<size_t>(m * w.K + k)] = load_activation(xv.at(m, k), xv.dtype);
  fp8_quantize_rows(aq, layer, "x", exact, xv.rows, w.K, quantized);  // may throw: nothing written yet
  auto load_q = [&](int64_t m, int64_t k) { return quantized[static_cast<size_t>(m * w.K + k)]; };
  auto block = [&](int64_t b) { fp8_gemm_column_block(w, xv.rows, b, load_q, store_y); };
  for_each_block(exec, fp8_column_block_count(w), block);
}

void fp8_gemm_double(const Fp8Matrix& w, const Fp8ActQuant& aq, const std::string& layer,
                     const std::vector<double>& src, int64_t rows, std::vector<double>& dst,
                     const incq_exec* exec) {
  std::vector<double> quantized;
  if (aq.enabled) fp8_quantize_rows(aq, layer, "expert input", src, rows, w.K, quantized);
  const std::vector<double>& in = aq.enabled ? quantized : src;
  dst.resize(static_cast<size_t>(rows * w.N));
  auto load_x = [&](int64_t m, int64_t k) { return in[static_cast<size_t>(m * w.K + k)]; };
  auto store_y = [&](int64_t m, int64_t n, double v) { dst[static_cast<size_t>(m * w.N + n)] = v; };
  auto block = [&](int64_t b) { fp8_gemm_column_block(w, rows, b, load_x, store_y); };
  for_each_block(exec, fp8_column_block_count(w), block);
}

}  // namespace incq::inc_cpu
