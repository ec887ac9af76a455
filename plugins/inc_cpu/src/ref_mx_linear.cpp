#include "ref_mx_linear.hpp"

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "mx_gemm.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

void load_quantized_rows(const MxMatrix& w, const incq_tensor* x, const std::string& layer, int32_t act_dtype,
                         std::vector<double>& out, int64_t* rows) {
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  out.resize(static_cast<size_t>(xv.rows * w.K));
  for (int64_t m = 0; m < xv.rows; ++m) {
    double* row = out.data() + m * w.K;
    for (int64_t k = 0; k < w.K; ++k) row[k] = load_activation(xv.at(m, k), xv.dtype);
    act_quant_row(w.input_quant, row, w.K);
  }
  *rows = xv.rows;
}

void ref_mx_linear_apply(const MxMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                         incq_tensor* y, const incq_exec* exec) {
  // Both arguments are checked before anything is written.
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = check_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  if (xv.rows == 0) return;
  std::vector<double> xq;
  int64_t rows = 0;
  load_quantized_rows(w, x, layer, act_dtype, xq, &rows);
  auto store_y = [&](int64_t m, int64_t n, double v) { store_activation(yv.at(m, n), yv.dtype, v); };
  auto block = [&](int64_t b) { mx_gemm_column_block(w, xq.data(), rows, b, store_y); };
  for_each_block(exec, mx_column_block_count(w), block);
}

}  // namespace incq::inc_cpu
