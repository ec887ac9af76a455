// The reference MoE driver shared by every inc_cpu MoE implementation (int, FP8, W4A8, MX/NV):
// out[t] = sum_j w[t,j] * down_e(silu(gate_e(x_t)) * up_e(x_t)), e = topk_ids[t,j],
// with everything in double up to the single rounding of `out`. The expert products are given as
// `project(e, proj, src, rows, dst)`: dst [rows, n] = src [rows, k] through expert e's projection
// (gate/up: H -> I, down: I -> H), where the caller applies its own weights and activation
// quantization. Repeated experts in one token's top-k add up; experts no token chose cost nothing.
#ifndef INCQ_INC_CPU_MOE_REFERENCE_HPP
#define INCQ_INC_CPU_MOE_REFERENCE_HPP

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "activation_io.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

enum class MoeProj { Gate, Up, Down };

// Throws StatusError (naming `layer`) before writing anything, e.g. for an expert id out of range
// or a projection that refuses its input. Per-call scratch: the reference gathers each expert's
// tokens; fast kernels must not allocate here.
template <typename Project>
void moe_reference_apply(int64_t num_experts, int64_t H, int64_t I, const std::string& layer, int32_t act_dtype,
                         int32_t top_k, const incq_tensor* hidden, const incq_tensor* topk_ids,
                         const incq_tensor* topk_weights, incq_tensor* out, Project&& project) {
  const MatrixView xv = check_matrix_arg(hidden, layer, "hidden", act_dtype, -1, H);
  const int64_t T = xv.rows;
  const MatrixView idv = check_matrix_arg(topk_ids, layer, "topk_ids", INCQ_DTYPE_I32, T, top_k);
  const MatrixView wv = check_matrix_arg(topk_weights, layer, "topk_weights", INCQ_DTYPE_F32, T, top_k);
  const MatrixView ov = check_matrix_arg(out, layer, "out", act_dtype, T, H);

  struct Route {
    int64_t token;
    double weight;
  };
  std::vector<std::vector<Route>> routes(static_cast<size_t>(num_experts));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < top_k; ++j) {
      int32_t id;
      float weight;
      std::memcpy(&id, idv.at(t, j), sizeof id);
      std::memcpy(&weight, wv.at(t, j), sizeof weight);
      if (id < 0 || id >= num_experts) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': token " + std::to_string(t) + ": topk_ids[" +
                                            std::to_string(t) + ", " +
                                            std::to_string(j) + "] = " + std::to_string(id) + " is outside [0, " +
                                            std::to_string(num_experts) + ")");
      }
      routes[static_cast<size_t>(id)].push_back(Route{t, weight});
    }
  }

  // Every expert runs before anything is written, so a projection that throws leaves `out` as it was.
  std::vector<double> acc(static_cast<size_t>(T * H), 0.0);
  std::vector<double> xs, gate, up, down;
  for (int64_t e = 0; e < num_experts; ++e) {
    const std::vector<Route>& r = routes[static_cast<size_t>(e)];
    const int64_t rows = static_cast<int64_t>(r.size());
    if (rows == 0) continue;
    xs.resize(static_cast<size_t>(rows * H));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < H; ++k)
        xs[static_cast<size_t>(i * H + k)] = load_activation(xv.at(r[static_cast<size_t>(i)].token, k), xv.dtype);
    project(e, MoeProj::Gate, xs, rows, gate);
    project(e, MoeProj::Up, xs, rows, up);
    if (gate.size() != static_cast<size_t>(rows * I) || up.size() != gate.size())
      fail(INCQ_ERR_INTERNAL, "layer '" + layer + "': expert " + std::to_string(e) + " gate/up gave the wrong size");
    for (size_t i = 0; i < gate.size(); ++i) {
      const double g = gate[i];
      gate[i] = g / (1.0 + std::exp(-g)) * up[i];  // silu(g) * u, kept in `gate`
    }
    project(e, MoeProj::Down, gate, rows, down);
    for (int64_t i = 0; i < rows; ++i) {
      const Route& route = r[static_cast<size_t>(i)];
      double* dst = &acc[static_cast<size_t>(route.token * H)];
      const double* src = &down[static_cast<size_t>(i * H)];
      for (int64_t n = 0; n < H; ++n) dst[n] += route.weight * src[n];
    }
  }

  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < H; ++n) store_activation(ov.at(t, n), ov.dtype, acc[static_cast<size_t>(t * H + n)]);
}

}  // namespace incq::inc_cpu

#endif
