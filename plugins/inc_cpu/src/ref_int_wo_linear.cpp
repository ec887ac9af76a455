#include "ref_int_wo_linear.hpp"

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "int_wo_gemm.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

void ref_int_wo_linear_apply(const IntWoMatrix& w, const std::string& layer, int32_t act_dtype,
                             const incq_tensor* x, incq_tensor* y, const incq_exec* exec) {
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = check_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  auto load_x = [&](int64_t m, int64_t k) { return load_activation(xv.at(m, k), xv.dtype); };
  auto store_y = [&](int64_t m, int64_t n, double v) { store_activation(yv.at(m, n), yv.dtype, v); };
  auto block = [&](int64_t b) { int_wo_gemm_column_block(w, xv.rows, b, load_x, store_y); };
  if (xv.rows > 0) for_each_block(exec, column_block_count(w), block);
}

}  // namespace incq::inc_cpu
