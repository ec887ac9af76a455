#include "ref_w4a8_linear.hpp"

#include <algorithm>
#include <cmath>

#include "act_quant_int8.hpp"
#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

constexpr int64_t kW4a8ColumnBlock = 64;  // output columns per unit of parallel work

int64_t column_blocks(const IntWoMatrix& w) { return (w.N + kW4a8ColumnBlock - 1) / kW4a8ColumnBlock; }

template <typename Store>
void run_blocks(const IntWoMatrix& w, const Int8Rows& xq, int64_t rows, const incq_exec* exec, Store&& store) {
  auto block = [&](int64_t b) {
    const int64_t n0 = b * kW4a8ColumnBlock, n1 = std::min(w.N, n0 + kW4a8ColumnBlock);
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t m = 0; m < rows; ++m) store(m, n, w4a8_output(w, xq, m, n));
  };
  for_each_block(exec, column_blocks(w), block);
}

}  // namespace

Int8Rows quantize_rows_int8(const std::string& layer, const std::string& role, const std::vector<double>& x,
                            int64_t rows, int64_t K) {
  Int8Rows out;
  out.K = K;
  out.q.resize(static_cast<size_t>(rows * K));
  out.scale.resize(static_cast<size_t>(rows));
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t k = 0; k < K; ++k) {
      const double v = x[static_cast<size_t>(m * K + k)];
      if (!std::isfinite(v)) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': " + role + "[" + std::to_string(m) + ", " +
                                            std::to_string(k) + "] is " + (std::isnan(v) ? "NaN" : "Inf") +
                                            ": int8 activation quantization needs finite inputs");
      }
      row[static_cast<size_t>(k)] = static_cast<float>(v);
    }
    out.scale[static_cast<size_t>(m)] = quantize_row_int8(row.data(), K, &out.q[static_cast<size_t>(m * K)]);
  }
  return out;
}

double w4a8_output(const IntWoMatrix& w, const Int8Rows& x, int64_t m, int64_t n) {
  const int8_t* q = &x.q[static_cast<size_t>(m * x.K)];
  const double s_x = x.scale[static_cast<size_t>(m)];
  double y = 0.0;
  // Groups are contiguous (check_w4a8_groups): group g is k in [g*G, (g+1)*G).
  for (int64_t g = 0; g < w.num_groups; ++g) {
    const int64_t k0 = g * w.group_size, k1 = std::min(w.K, k0 + w.group_size);
    const int32_t zero = w.zero_at(g, n);
    int32_t acc = 0;
    for (int64_t k = k0; k < k1; ++k) acc += static_cast<int32_t>(q[k]) * (w.code_at(k, n) - zero);
    y += static_cast<double>(acc) * s_x * static_cast<double>(w.scale_at(g, n));
  }
  return y + w.bias_at(n);
}

void ref_w4a8_linear_apply(const IntWoMatrix& w, const std::string& layer, int32_t act_dtype, const incq_tensor* x,
                           incq_tensor* y, const incq_exec* exec) {
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = check_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  if (xv.rows == 0) return;
  std::vector<double> exact(static_cast<size_t>(xv.rows * w.K));
  for (int64_t m = 0; m < xv.rows; ++m)
    for (int64_t k = 0; k < w.K; ++k) exact[static_cast<size_t>(m * w.K + k)] = load_activation(xv.at(m, k), xv.dtype);
  const Int8Rows xq = quantize_rows_int8(layer, "x", exact, xv.rows, w.K);  // may throw: nothing written yet
  run_blocks(w, xq, xv.rows, exec,
             [&](int64_t m, int64_t n, double v) { store_activation(yv.at(m, n), yv.dtype, v); });
}

void w4a8_gemm_double(const IntWoMatrix& w, const std::string& layer, const std::vector<double>& src, int64_t rows,
                      std::vector<double>& dst, const incq_exec* exec) {
  const Int8Rows xq = quantize_rows_int8(layer, "expert input", src, rows, w.K);
  dst.resize(static_cast<size_t>(rows * w.N));
  run_blocks(w, xq, rows, exec, [&](int64_t m, int64_t n, double v) { dst[static_cast<size_t>(m * w.N + n)] = v; });
}

}  // namespace incq::inc_cpu
