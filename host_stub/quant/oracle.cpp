#include "quant/oracle.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"

namespace incq::host::quant {

void oracle_linear(const double* x, int64_t M, int64_t K, const double* W, int64_t N, const double* bias,
                   double* y, double* mag) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = bias != nullptr ? bias[n] : 0.0;
      double abs_acc = bias != nullptr ? std::fabs(bias[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double term = x[m * K + k] * W[k * N + n];
        acc += term;
        abs_acc += std::fabs(term);
      }
      y[m * N + n] = acc;
      if (mag != nullptr) mag[m * N + n] = abs_acc;
    }
}

// Error propagation for one (token, expert) pair, first order in tol.
//   g = x·gate, u = x·up           (each [I]);   Mg_i = Σ_h |x_h gate_hi|, Mu_i = Σ_h |x_h up_hi|
//   a = silu(g) ⊙ u                 ([I]);        o = a·down ([H])
// An implementation computes g + δg, u + δu with |δg_i| <= tol·Mg_i, |δu_i| <= tol·Mu_i, then
//   δa_i = silu'(g_i)·u_i·δg_i + silu(g_i)·δu_i + O(tol²)
// and its down matmul of the perturbed a adds δd_h with |δd_h| <= tol·Σ_i |a_i down_ih| + O(tol²). So
//   |δo_h| <= tol·[ Σ_i |down_ih|·(|silu'(g_i)·u_i|·Mg_i + |silu(g_i)|·Mu_i) + Σ_i |a_i·down_ih| ] + O(tol²)
// and the weighted sum over the top-k gives mag[t,h] = Σ_j |w_tj|·[...]_(e_tj). The weighted sum
// itself is taken as exact (k terms; its rounding is far below the matmuls').
// silu'(v) = σ(v)·(1 + v·(1 − σ(v))), σ the logistic function.
void oracle_moe(const double* x, int64_t T, int64_t H, int64_t I, const std::vector<ExpertWeights>& experts,
                const int32_t* topk_ids, const float* topk_weights, int top_k, double* y, double* mag) {
  const int64_t E = static_cast<int64_t>(experts.size());
  for (int64_t e = 0; e < E; ++e) {
    const auto& ex = experts[e];
    if (static_cast<int64_t>(ex.gate.size()) != H * I || static_cast<int64_t>(ex.up.size()) != H * I ||
        static_cast<int64_t>(ex.down.size()) != I * H)
      throw Error(fmt::format("oracle_moe: expert {}: gate/up/down have {}/{}/{} elements, expected {}", e,
                              ex.gate.size(), ex.up.size(), ex.down.size(), H * I));
  }
  std::vector<double> g(I), u(I), mg(I), mu(I), a(I), da(I);
  for (int64_t t = 0; t < T; ++t) {
    const double* xt = x + t * H;
    double* yt = y + t * H;
    double* mt = mag != nullptr ? mag + t * H : nullptr;
    for (int64_t h = 0; h < H; ++h) {
      yt[h] = 0.0;
      if (mt != nullptr) mt[h] = 0.0;
    }
    for (int j = 0; j < top_k; ++j) {
      const int32_t e = topk_ids[t * top_k + j];
      if (e < 0 || e >= E)
        throw Error(fmt::format("oracle_moe: topk_ids[{}, {}] = {}, expected in [0, {})", t, j, e, E));
      const double r = topk_weights[t * top_k + j];
      const ExpertWeights& ex = experts[e];
      for (int64_t i = 0; i < I; ++i) {
        g[i] = u[i] = mg[i] = mu[i] = 0.0;
        for (int64_t h = 0; h < H; ++h) {
          g[i] += xt[h] * ex.gate[h * I + i];
          u[i] += xt[h] * ex.up[h * I + i];
          mg[i] += std::fabs(xt[h] * ex.gate[h * I + i]);
          mu[i] += std::fabs(xt[h] * ex.up[h * I + i]);
        }
        const double sig = 1.0 / (1.0 + std::exp(-g[i]));
        const double silu = g[i] * sig;
        const double dsilu = sig * (1.0 + g[i] * (1.0 - sig));
        a[i] = silu * u[i];
        da[i] = std::fabs(dsilu * u[i]) * mg[i] + std::fabs(silu) * mu[i];  // |δa_i| / tol
      }
      for (int64_t h = 0; h < H; ++h) {
        double o = 0.0, bound = 0.0;
        for (int64_t i = 0; i < I; ++i) {
          const double d = ex.down[i * H + h];
          o += a[i] * d;
          bound += std::fabs(d) * da[i] + std::fabs(a[i] * d);
        }
        yt[h] += r * o;
        if (mt != nullptr) mt[h] += std::fabs(r) * bound;
      }
    }
  }
}

}  // namespace incq::host::quant
