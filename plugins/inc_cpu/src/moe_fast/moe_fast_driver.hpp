// The fast MoE driver, generic over the per-expert matrix: out[t] = sum_j w[t,j] *
// down_e(silu(gate_e(x_t)) * up_e(x_t)), e = topk_ids[t,j] (plugin_api.h).
// Per chunk of tokens: route (counting sort of the (token, j) slots by expert), gather each expert's
// rows, one pass per block of intermediate columns computing gate and up together and then
// silu(gate) * up, the down projection, and the weighted combine. Only experts some token chose are
// read, each once per chunk whatever its number of tokens (decode and prefill alike). All scratch
// is leased from ScratchPool (reserved at process time; chunking bounds it): apply allocates nothing.
//
// The matrix concept (`Ops`, a struct of static functions over Ops::Mat):
//   bool quantizes_input(const Mat&)              the projection quantizes its input (x', h')
//   void input_row(const Mat&, const float* src, float* out_f, double* out_d, double* tmp)
//                                                 x' of one row (float_input.hpp semantics)
//   void gemm_f32(const Mat&, const float* x, int64_t ldx, int64_t M, int64_t n0, int64_t n1,
//                 float* y, int64_t ldy)          y[m, n - n0] = (x W^T + b)[m, n], fp32
//   void gemm_f64(... const double* x ..., double* y ...)   the same in double; used for gate/up
//                                                 when down quantizes its input: the quantizer must
//                                                 see the reference's intermediate (docs/compute_modes_float.md)
//   int64_t max_depth                              (not required)
// Integer experts plug in through an Ops of their own.
#ifndef INCQ_INC_CPU_MOE_FAST_MOE_FAST_DRIVER_HPP
#define INCQ_INC_CPU_MOE_FAST_MOE_FAST_DRIVER_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "float_fast/float_input.hpp"
#include "float_fast/scratch_pool.hpp"
#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

template <typename Mat>
struct MoeFastExperts {
  int64_t num_experts = 0;
  int64_t hidden = 0;        // H
  int64_t intermediate = 0;  // I
  std::vector<Mat> gate, up, down;
};

namespace moe_fast_detail {

constexpr size_t kChunkBudget = size_t{8} << 20;  // scratch bytes per chunk of tokens
constexpr int64_t kColumnsPerItem = 64;

struct Plan {
  bool quant_gate_up = false;  // gate/up inputs quantized
  bool quant_down = false;     // down input quantized: gate/up run in double (gemm_f64)
  bool double_inputs() const { return quant_gate_up || quant_down; }  // x' of gate/up kept in double
  int64_t E = 0, H = 0, I = 0, top_k = 0;
  int64_t per_slot() const {
    int64_t b = H * 4 + I * 4 + H * 4 + 12;  // xs, h, d, routing
    b += quant_down ? 2 * I * 8 + I * 4 + I * 8 : 2 * I * 4;  // g/u (double or float), h' and its tmp
    if (double_inputs()) b += 2 * H * 8;
    return b;
  }
  int64_t chunk_tokens() const { return std::max<int64_t>(1, static_cast<int64_t>(kChunkBudget) / (top_k * per_slot())); }
  size_t bytes(int64_t tokens) const {
    const int64_t R = tokens * top_k;
    size_t n = 3 * scratch_bytes(static_cast<size_t>(E) * 8) + 4 * scratch_bytes(static_cast<size_t>(R) * 4);
    n += 2 * scratch_bytes(static_cast<size_t>(R * H) * 4) + scratch_bytes(static_cast<size_t>(R * I) * 4);
    if (double_inputs()) n += 2 * scratch_bytes(static_cast<size_t>(R * H) * 8);
    if (quant_down) {
      n += 2 * scratch_bytes(static_cast<size_t>(R * I) * 8) + scratch_bytes(static_cast<size_t>(R * I) * 4) +
           scratch_bytes(static_cast<size_t>(R * I) * 8);
    } else {
      n += 2 * scratch_bytes(static_cast<size_t>(R * I) * 4);
    }
    return n;
  }
};

template <typename Ops, typename Mat>
Plan make_plan(const MoeFastExperts<Mat>& ex, int64_t top_k) {
  Plan p;
  p.E = ex.num_experts, p.H = ex.hidden, p.I = ex.intermediate, p.top_k = top_k;
  for (int64_t e = 0; e < ex.num_experts; ++e) {
    const size_t i = static_cast<size_t>(e);
    p.quant_gate_up = p.quant_gate_up || Ops::quantizes_input(ex.gate[i]) || Ops::quantizes_input(ex.up[i]);
    p.quant_down = p.quant_down || Ops::quantizes_input(ex.down[i]);
  }
  return p;
}

}  // namespace moe_fast_detail

// Scratch one apply leases, whatever its token count (reserve it at process time).
template <typename Ops, typename Mat>
size_t moe_fast_scratch_bytes(const MoeFastExperts<Mat>& ex, int64_t top_k) {
  const moe_fast_detail::Plan p = moe_fast_detail::make_plan<Ops>(ex, top_k);
  return p.bytes(p.chunk_tokens());
}

// `finite_inputs`: the projections refuse non-finite inputs (FP8 activation quantization); hidden
// is then checked before anything is written, as the reference does.
template <typename Ops, typename Mat>
void moe_fast_apply(const MoeFastExperts<Mat>& ex, const std::string& layer, int32_t act_dtype, int32_t top_k,
                    bool finite_inputs, const incq_tensor* hidden, const incq_tensor* topk_ids,
                    const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec) {
  using namespace moe_fast_detail;
  const int64_t E = ex.num_experts, H = ex.hidden, I = ex.intermediate;
  const MatrixView xv = check_matrix_arg(hidden, layer, "hidden", act_dtype, -1, H);
  const int64_t T = xv.rows;
  const MatrixView idv = check_matrix_arg(topk_ids, layer, "topk_ids", INCQ_DTYPE_I32, T, top_k);
  const MatrixView wv = check_matrix_arg(topk_weights, layer, "topk_weights", INCQ_DTYPE_F32, T, top_k);
  const MatrixView ov = check_matrix_arg(out, layer, "out", act_dtype, T, H);
  auto id_at = [&](int64_t t, int64_t j) {
    int32_t id;
    std::memcpy(&id, idv.at(t, j), sizeof id);
    return id;
  };
  auto weight_at = [&](int64_t t, int64_t j) {
    float w;
    std::memcpy(&w, wv.at(t, j), sizeof w);
    return w;
  };
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < top_k; ++j) {
      const int32_t id = id_at(t, j);
      if (id < 0 || id >= E) {
        fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': token " + std::to_string(t) + ": topk_ids[" +
                                            std::to_string(t) + ", " + std::to_string(j) + "] = " + std::to_string(id) +
                                            " is outside [0, " + std::to_string(E) + ")");
      }
    }
  }
  if (finite_inputs) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t k = 0; k < H; ++k) {
        const double v = load_activation(xv.at(t, k), xv.dtype);
        if (!std::isfinite(v)) {
          fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': hidden[" + std::to_string(t) + ", " +
                                              std::to_string(k) + "] is " + (std::isnan(v) ? "NaN" : "Inf") +
                                              ": FP8 activation quantization needs finite inputs");
        }
      }
    }
  }
  if (T == 0) return;

  const Plan plan = make_plan<Ops>(ex, top_k);
  const int64_t Tc = std::min(T, plan.chunk_tokens());
  const int64_t Rmax = Tc * top_k;
  ScratchPool& pool = ScratchPool::instance();
  ScratchPool::Lease lease(pool, pool.acquire_slot(plan.bytes(Tc)));
  int64_t* counts = lease.take<int64_t>(static_cast<size_t>(E));
  int64_t* offsets = lease.take<int64_t>(static_cast<size_t>(E));
  int64_t* touched = lease.take<int64_t>(static_cast<size_t>(E));
  int32_t* slot_token = lease.take<int32_t>(static_cast<size_t>(Rmax));
  int32_t* slot_expert = lease.take<int32_t>(static_cast<size_t>(Rmax));
  float* slot_weight = lease.take<float>(static_cast<size_t>(Rmax));
  int32_t* pos = lease.take<int32_t>(static_cast<size_t>(Rmax));
  float* xs = lease.take<float>(static_cast<size_t>(Rmax * H));
  float* d = lease.take<float>(static_cast<size_t>(Rmax * H));
  float* h = lease.take<float>(static_cast<size_t>(Rmax * I));
  double* xg = plan.double_inputs() ? lease.take<double>(static_cast<size_t>(Rmax * H)) : nullptr;
  double* xu = plan.double_inputs() ? lease.take<double>(static_cast<size_t>(Rmax * H)) : nullptr;
  double *gd = nullptr, *ud = nullptr, *htmp = nullptr;
  float *gf = nullptr, *uf = nullptr, *hq = nullptr;
  if (plan.quant_down) {
    gd = lease.take<double>(static_cast<size_t>(Rmax * I));
    ud = lease.take<double>(static_cast<size_t>(Rmax * I));
    hq = lease.take<float>(static_cast<size_t>(Rmax * I));
    htmp = lease.take<double>(static_cast<size_t>(Rmax * I));
  } else {
    gf = lease.take<float>(static_cast<size_t>(Rmax * I));
    uf = lease.take<float>(static_cast<size_t>(Rmax * I));
  }

  for (int64_t t0 = 0; t0 < T; t0 += Tc) {
    const int64_t Tn = std::min(Tc, T - t0);
    // Routing: slots grouped by expert, in token order within an expert.
    std::fill(counts, counts + E, 0);
    for (int64_t t = 0; t < Tn; ++t)
      for (int64_t j = 0; j < top_k; ++j) ++counts[id_at(t0 + t, j)];
    int64_t n_touched = 0, acc = 0;
    for (int64_t e = 0; e < E; ++e) {
      offsets[e] = acc;
      acc += counts[e];
      if (counts[e] > 0) touched[n_touched++] = e;
    }
    for (int64_t t = 0; t < Tn; ++t) {
      for (int64_t j = 0; j < top_k; ++j) {
        const int32_t e = id_at(t0 + t, j);
        const int64_t s = offsets[e]++;
        slot_token[s] = static_cast<int32_t>(t);
        slot_expert[s] = e;
        slot_weight[s] = weight_at(t0 + t, j);
        pos[t * top_k + j] = static_cast<int32_t>(s);
      }
    }
    for (int64_t e = 0; e < E; ++e) offsets[e] -= counts[e];  // back to each expert's first slot
    const int64_t R = Tn * top_k;

    auto gather = [&](int64_t s) {
      float* row = xs + s * H;
      load_row_f32(xv, t0 + slot_token[s], row);
      if (plan.double_inputs()) {
        const size_t e = static_cast<size_t>(slot_expert[s]);
        Ops::input_row(ex.gate[e], row, nullptr, xg + s * H, xg + s * H);
        Ops::input_row(ex.up[e], row, nullptr, xu + s * H, xu + s * H);
      }
    };
    for_each_block(exec, R, gather);

    // gate and up together, then silu(gate) * up, per block of intermediate columns.
    const int64_t nbI = (I + kColumnsPerItem - 1) / kColumnsPerItem;
    auto gate_up = [&](int64_t item) {
      const int64_t e = touched[item / nbI];
      const size_t ei = static_cast<size_t>(e);
      const int64_t n0 = (item % nbI) * kColumnsPerItem, n1 = std::min(I, n0 + kColumnsPerItem);
      const int64_t off = offsets[e], rows = counts[e];
      if (plan.quant_down) {
        Ops::gemm_f64(ex.gate[ei], xg + off * H, H, rows, n0, n1, gd + off * I + n0, I);
        Ops::gemm_f64(ex.up[ei], xu + off * H, H, rows, n0, n1, ud + off * I + n0, I);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t n = n0; n < n1; ++n) {
            const double g = gd[(off + r) * I + n], u = ud[(off + r) * I + n];
            h[(off + r) * I + n] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
          }
        }
      } else {
        Ops::gemm_f32(ex.gate[ei], xs + off * H, H, rows, n0, n1, gf + off * I + n0, I);
        Ops::gemm_f32(ex.up[ei], xs + off * H, H, rows, n0, n1, uf + off * I + n0, I);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t n = n0; n < n1; ++n) {
            const float g = gf[(off + r) * I + n], u = uf[(off + r) * I + n];
            h[(off + r) * I + n] = g / (1.0f + std::exp(-g)) * u;
          }
        }
      }
    };
    for_each_block(exec, n_touched * nbI, gate_up);

    const float* hin = h;
    if (plan.quant_down) {
      auto quantize_h = [&](int64_t s) {
        Ops::input_row(ex.down[static_cast<size_t>(slot_expert[s])], h + s * I, hq + s * I, nullptr, htmp + s * I);
      };
      for_each_block(exec, R, quantize_h);
      hin = hq;
    }

    const int64_t nbH = (H + kColumnsPerItem - 1) / kColumnsPerItem;
    auto down = [&](int64_t item) {
      const int64_t e = touched[item / nbH];
      const int64_t n0 = (item % nbH) * kColumnsPerItem, n1 = std::min(H, n0 + kColumnsPerItem);
      Ops::gemm_f32(ex.down[static_cast<size_t>(e)], hin + offsets[e] * I, I, counts[e], n0, n1,
                    d + offsets[e] * H + n0, H);
    };
    for_each_block(exec, n_touched * nbH, down);

    // Weighted combine in top-k order, into the first slot's row, then one rounding into out.
    auto combine = [&](int64_t t) {
      float* dst = d + static_cast<int64_t>(pos[t * top_k]) * H;
      const float w0 = slot_weight[pos[t * top_k]];
      for (int64_t n = 0; n < H; ++n) dst[n] *= w0;
      for (int64_t j = 1; j < top_k; ++j) {
        const int64_t s = pos[t * top_k + j];
        const float wj = slot_weight[s];
        const float* src = d + s * H;
        for (int64_t n = 0; n < H; ++n) dst[n] += wj * src[n];
      }
      for (int64_t n = 0; n < H; ++n) store_activation(ov.at(t0 + t, n), ov.dtype, dst[n]);
    };
    for_each_block(exec, Tn, combine);
  }
}

}  // namespace incq::inc_cpu

#endif
