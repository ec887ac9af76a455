#include "ref_int_wo_moe.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_gemm.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

struct Route {
  int64_t token;
  double weight;
};

// dst [rows, w.N] = src [rows, w.K] * W + bias, all in double.
void gemm_double(const IntWoMatrix& w, const std::vector<double>& src, int64_t rows,
                 std::vector<double>& dst, const incq_exec* exec) {
  auto load_x = [&](int64_t m, int64_t k) { return src[static_cast<size_t>(m * w.K + k)]; };
  auto store_y = [&](int64_t m, int64_t n, double v) { dst[static_cast<size_t>(m * w.N + n)] = v; };
  auto block = [&](int64_t b) { int_wo_gemm_column_block(w, rows, b, load_x, store_y); };
  for_each_block(exec, column_block_count(w), block);
}

}  // namespace

void ref_int_wo_moe_apply(const IntWoExperts& ex, const std::string& layer, int32_t act_dtype,
                          int32_t top_k, const incq_tensor* hidden, const incq_tensor* topk_ids,
                          const incq_tensor* topk_weights, incq_tensor* out,
                          const incq_exec* exec) {
  const int64_t H = ex.hidden;
  const int64_t I = ex.intermediate;
  const MatrixView xv = check_matrix_arg(hidden, layer, "hidden", act_dtype, -1, H);
  const int64_t T = xv.rows;
  const MatrixView idv = check_matrix_arg(topk_ids, layer, "topk_ids", INCQ_DTYPE_I32, T, top_k);
  const MatrixView wv = check_matrix_arg(topk_weights, layer, "topk_weights", INCQ_DTYPE_F32, T, top_k);
  const MatrixView ov = check_matrix_arg(out, layer, "out", act_dtype, T, H);

  // The reference favours simplicity over the no-allocation rule of the hot path: it gathers each
  // expert's tokens into per-call scratch. Fast kernels will not allocate here.
  std::vector<std::vector<Route>> routes(static_cast<size_t>(ex.num_experts));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < top_k; ++j) {
      int32_t id;
      float weight;
      std::memcpy(&id, idv.at(t, j), sizeof id);
      std::memcpy(&weight, wv.at(t, j), sizeof weight);
      if (id < 0 || id >= ex.num_experts) {
        fail(INCQ_ERR_INVALID_ARGUMENT,
             "layer '" + layer + "': token " + std::to_string(t) + ": topk_ids[" +
                 std::to_string(t) + ", " + std::to_string(j) + "] = " + std::to_string(id) +
                 " is outside [0, " + std::to_string(ex.num_experts) + ")");
      }
      // A repeated expert in one token's top-k just gets two routes: both contributions add.
      routes[static_cast<size_t>(id)].push_back(Route{t, weight});
    }
  }

  std::vector<double> acc(static_cast<size_t>(T * H), 0.0);
  std::vector<double> xs, gate, up, down;
  for (int64_t e = 0; e < ex.num_experts; ++e) {
    const std::vector<Route>& r = routes[static_cast<size_t>(e)];
    const int64_t rows = static_cast<int64_t>(r.size());
    if (rows == 0) continue;  // an expert no token chose
    xs.resize(static_cast<size_t>(rows * H));
    gate.resize(static_cast<size_t>(rows * I));
    up.resize(static_cast<size_t>(rows * I));
    down.resize(static_cast<size_t>(rows * H));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t k = 0; k < H; ++k) {
        xs[static_cast<size_t>(i * H + k)] = load_activation(xv.at(r[i].token, k), xv.dtype);
      }
    }
    gemm_double(ex.gate[e], xs, rows, gate, exec);
    gemm_double(ex.up[e], xs, rows, up, exec);
    for (size_t i = 0; i < gate.size(); ++i) {
      const double g = gate[i];
      gate[i] = g / (1.0 + std::exp(-g)) * up[i];  // silu(g) * u, kept in `gate`
    }
    gemm_double(ex.down[e], gate, rows, down, exec);
    for (int64_t i = 0; i < rows; ++i) {
      double* dst = &acc[static_cast<size_t>(r[i].token * H)];
      const double* src = &down[static_cast<size_t>(i * H)];
      for (int64_t n = 0; n < H; ++n) dst[n] += r[i].weight * src[n];
    }
  }

  for (int64_t t = 0; t < T; ++t) {
    for (int64_t n = 0; n < H; ++n) {
      store_activation(ov.at(t, n), ov.dtype, acc[static_cast<size_t>(t * H + n)]);
    }
  }
}

}  // namespace incq::inc_cpu
