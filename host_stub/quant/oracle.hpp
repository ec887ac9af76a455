// The double-precision oracle every implementation is compared against (DESIGN §5), with the
// magnitudes that turn an implementation's relative matmul error into an absolute bound.
#pragma once

#include <cstdint>
#include <vector>

namespace incq::host::quant {

// y[M,N] = x[M,K]·W[K,N] + b (bias may be null), all double, row-major.
// mag[M,N] = Σ_k |x_mk·w_kn| + |b_n|: an implementation whose error is tol relative to the sum of
// absolute terms satisfies |y_impl - y| <= tol * mag (the ABI's tolerance contract).
void oracle_linear(const double* x, int64_t M, int64_t K, const double* W, int64_t N, const double* bias,
                   double* y, double* mag);

// One expert's weights, dequantized, x·W orientation: gate [H][I], up [H][I], down [I][H].
struct ExpertWeights {
  std::vector<double> gate, up, down;
};

// y[t] = Σ_j topk_weights[t,j] * (silu(x_t·gate_e) ⊙ (x_t·up_e))·down_e, e = topk_ids[t,j],
// silu(v) = v / (1 + exp(-v)). A repeated expert in a token's top-k contributes once per entry.
// mag[t,h] is a first-order bound (derived in oracle.cpp) such that an implementation whose three
// matmuls each err by at most tol relative to their sums of absolute terms satisfies
// |y_impl - y| <= tol * mag + O(tol^2). Throws incq::host::Error on an expert id out of range or
// expert weights of the wrong size.
void oracle_moe(const double* x, int64_t T, int64_t H, int64_t I, const std::vector<ExpertWeights>& experts,
                const int32_t* topk_ids, const float* topk_weights, int top_k, double* y, double* mag);

}  // namespace incq::host::quant
