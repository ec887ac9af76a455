// The oracle side of `incq verify`, per scheme family: the weights of one projection read from the
// checkpoint by host_stub/quant (independently of every plugin), and the reference outputs with the
// scheme's activation quantization (docs/formats.md §3) applied where the scheme has one.
#pragma once

#include <vector>

#include "config/quant_config.hpp"
#include "core/projection_tensors.hpp"
#include "safetensors/safetensors.hpp"

namespace incq::host {

struct OracleProjection {
  std::vector<double> W;     // [K][N]
  std::vector<double> bias;  // [N] or empty
  double input_global_scale = 0;  // NVFP4 activation quantization; 0 when absent
};

// Throws Error naming the file, layer and tensor for anything the checkpoint gets wrong.
OracleProjection read_oracle_projection(const st::Checkpoint& ckpt, const ProjectionTensors& p, const LayerScheme& s);

// y [M,N] and its error magnitude for a Linear: x' = act_quant(x) when the scheme says so.
void oracle_linear_output(const incq_scheme& s, const OracleProjection& w, const double* x, int64_t M, int64_t K,
                          int64_t N, double* y, double* mag);

// The gated-SiLU MoE with each projection's input quantized as the scheme says (x for gate/up,
// silu(gate)*up for down), as AutoRound's per-Linear activation quantization does.
void oracle_moe_output(const incq_scheme& s, const std::vector<OracleProjection>& projections /* e*3 + {g,u,d} */,
                       const double* x, int64_t T, int64_t H, int64_t I, const int32_t* topk_ids,
                       const float* topk_weights, int top_k, double* y, double* mag);

}  // namespace incq::host
