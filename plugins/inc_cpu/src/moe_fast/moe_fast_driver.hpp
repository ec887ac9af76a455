// The fast MoE driver, generic over the per-expert matrix: out[t] = sum_j w[t,j] *
// down_e(silu(gate_e(x_t)) * up_e(x_t)), e = topk_ids[t,j] (plugin_api.h).
// Per chunk of tokens: route (counting sort of the (token, j) slots by expert), gather each expert's
// rows, prepare each touched expert's gate/up activations (shared where the preparation agrees),
// one parallel pass over gate+up items (per block of intermediate columns, then silu(gate) * up)
// followed by down items (each expert's down input prepared by whoever finishes its gate+up), and
// the weighted combine. Only experts some token chose are read, each once per chunk
// whatever its number of tokens (decode and prefill alike). All scratch is leased from ScratchPool
// (reserved at process time; chunking bounds it): apply allocates nothing.
//
// The matrix concept `Ops` (static functions over Ops::Mat; float: moe_fast_float.hpp, integer:
// moe_fast_int.hpp):
//   using Mat; using Prepared;      Prepared: a trivially copyable view of prepared activations
//   bool quantizes_input(const Mat&)          the projection quantizes its input
//   size_t prepare_bytes(const Mat&, int64_t rows, bool precise)
//                                              scratch for `rows` rows; affine in rows (a row costs
//                                              >= 64 bytes) up to 64-byte alignment
//   Prepared prepare(const Mat&, const float* x, int64_t ldx, int64_t rows, bool precise, void* scratch)
//   bool same_preparation(const Mat& a, const Mat& b)
//                                              prepare(a, x, ...) is also b's preparation of the same x
//   void gemm(const Mat&, const Prepared&, int64_t n0, int64_t n1, float* y, int64_t ldy)
//                                              y[m, n - n0] = (x W^T + b)[m, n], any n0 multiple of 64
//   void gemm_f64(const Mat&, const Prepared&, int64_t n0, int64_t n1, double* y, int64_t ldy)
//                                              the same accumulated in double; called for gate/up
//                                              (prepared with precise = true) only when down
//                                              quantizes its input: that quantizer must see the
//                                              reference's intermediate (docs/compute_modes_float.md)
#ifndef INCQ_INC_CPU_MOE_FAST_MOE_FAST_DRIVER_HPP
#define INCQ_INC_CPU_MOE_FAST_MOE_FAST_DRIVER_HPP

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "float_fast/float_input.hpp"
#include "float_fast/scratch_pool.hpp"
#include "incq/plugin_helpers.hpp"
#include "float_fast/fast_matrix_arg.hpp"
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

constexpr size_t kChunkBudget = size_t{8} << 20;  // scratch bytes per chunk of tokens (about)
constexpr int64_t kColumnsPerItem = 128;
// Phases that move fewer elements than this (gather, prepare, combine at decode sizes) run on the
// calling thread: a pool round trip costs more than the work.
constexpr int64_t kSerialElements = int64_t{1} << 16;

template <typename Body>
void run_items(const incq_exec* exec, int64_t n, int64_t elements, Body& body) {
  if (elements < kSerialElements) {
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for_each_block(exec, n, body);
  }
}

template <typename Ops, typename Mat>
struct Plan {
  const MoeFastExperts<Mat>* ex = nullptr;
  bool precise = false;  // down quantizes its input: gate/up accumulate in double
  int64_t E = 0, H = 0, I = 0, top_k = 0;

  // Bound on the prepared activations of all experts of one projection for R slots (n experts):
  // sum_e f(r_e) <= f(R) + n f(1) for an affine f with 64-byte alignment and >= 64 bytes a row.
  size_t prep_bound(const Mat& m, int64_t R, bool p) const {
    return Ops::prepare_bytes(m, R, p) + static_cast<size_t>(std::min(E, R)) * Ops::prepare_bytes(m, 1, p);
  }
  size_t bytes(int64_t tokens) const {
    const int64_t R = tokens * top_k;
    auto a = [](size_t b) { return scratch_bytes(b); };
    size_t n = 4 * a(static_cast<size_t>(E) * 8) + 4 * a(static_cast<size_t>(R) * 4);
    n += a(static_cast<size_t>(2 * E + 1) * sizeof(std::atomic<int64_t>));  // the pass's counters
    n += 3 * a(static_cast<size_t>(E) * sizeof(typename Ops::Prepared));
    n += 2 * a(static_cast<size_t>(R * H) * 4) + a(static_cast<size_t>(R * I) * 4);  // xs, d, h
    n += 2 * a(static_cast<size_t>(R * I) * (precise ? 8 : 4));                      // g, u
    n += a(prep_bound(ex->gate[0], R, precise)) + a(prep_bound(ex->up[0], R, precise)) +
         a(prep_bound(ex->down[0], R, false));
    return n;
  }
  int64_t chunk_tokens() const {
    const size_t one = bytes(1);
    return std::max<int64_t>(1, static_cast<int64_t>(kChunkBudget / std::max<size_t>(one, 1)));
  }
};

template <typename Ops, typename Mat>
Plan<Ops, Mat> make_plan(const MoeFastExperts<Mat>& ex, int64_t top_k) {
  Plan<Ops, Mat> p;
  p.ex = &ex;
  p.E = ex.num_experts, p.H = ex.hidden, p.I = ex.intermediate, p.top_k = top_k;
  for (const Mat& m : ex.down) p.precise = p.precise || Ops::quantizes_input(m);
  return p;
}

}  // namespace moe_fast_detail

// Scratch one apply leases, whatever its token count (reserve it at process time).
template <typename Ops, typename Mat>
size_t moe_fast_scratch_bytes(const MoeFastExperts<Mat>& ex, int64_t top_k) {
  const auto p = moe_fast_detail::make_plan<Ops>(ex, top_k);
  return p.bytes(p.chunk_tokens());
}

// `finite_inputs`: the projections refuse non-finite inputs (FP8 activation quantization); hidden
// is then checked before anything is written, as the reference does.
template <typename Ops, typename Mat>
void moe_fast_apply(const MoeFastExperts<Mat>& ex, const std::string& layer, int32_t act_dtype, int32_t top_k,
                    bool finite_inputs, const incq_tensor* hidden, const incq_tensor* topk_ids,
                    const incq_tensor* topk_weights, incq_tensor* out, const incq_exec* exec) {
  using namespace moe_fast_detail;
  using Prepared = typename Ops::Prepared;
  const int64_t E = ex.num_experts, H = ex.hidden, I = ex.intermediate;
  const MatrixView xv = fast_matrix_arg(hidden, layer, "hidden", act_dtype, -1, H);
  const int64_t T = xv.rows;
  const MatrixView idv = fast_matrix_arg(topk_ids, layer, "topk_ids", INCQ_DTYPE_I32, T, top_k);
  const MatrixView wv = fast_matrix_arg(topk_weights, layer, "topk_weights", INCQ_DTYPE_F32, T, top_k);
  const MatrixView ov = fast_matrix_arg(out, layer, "out", act_dtype, T, H);
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

  const auto plan = make_plan<Ops>(ex, top_k);
  const bool precise = plan.precise;
  const int64_t Tc = std::min(T, plan.chunk_tokens());
  const int64_t Rmax = Tc * top_k;
  ScratchPool& pool = ScratchPool::instance();
  ScratchPool::Lease lease(pool, pool.acquire_slot(plan.bytes(Tc)));
  int64_t* counts = lease.take<int64_t>(static_cast<size_t>(E));
  int64_t* offsets = lease.take<int64_t>(static_cast<size_t>(E));
  int64_t* touched = lease.take<int64_t>(static_cast<size_t>(E));
  int64_t* prep_off = lease.take<int64_t>(static_cast<size_t>(E));
  std::atomic<int64_t>* counters = lease.take<std::atomic<int64_t>>(static_cast<size_t>(2 * E + 1));
  int32_t* slot_token = lease.take<int32_t>(static_cast<size_t>(Rmax));
  int32_t* slot_expert = lease.take<int32_t>(static_cast<size_t>(Rmax));
  float* slot_weight = lease.take<float>(static_cast<size_t>(Rmax));
  int32_t* pos = lease.take<int32_t>(static_cast<size_t>(Rmax));
  Prepared* p_gate = lease.take<Prepared>(static_cast<size_t>(E));
  Prepared* p_up = lease.take<Prepared>(static_cast<size_t>(E));
  Prepared* p_down = lease.take<Prepared>(static_cast<size_t>(E));
  float* xs = lease.take<float>(static_cast<size_t>(Rmax * H));
  float* d = lease.take<float>(static_cast<size_t>(Rmax * H));
  float* h = lease.take<float>(static_cast<size_t>(Rmax * I));
  void* gbuf = lease.take<uint8_t>(static_cast<size_t>(Rmax * I) * (precise ? 8 : 4));
  void* ubuf = lease.take<uint8_t>(static_cast<size_t>(Rmax * I) * (precise ? 8 : 4));
  uint8_t* prep_gate = lease.take<uint8_t>(plan.prep_bound(ex.gate[0], Rmax, precise));
  uint8_t* prep_up = lease.take<uint8_t>(plan.prep_bound(ex.up[0], Rmax, precise));
  uint8_t* prep_down = lease.take<uint8_t>(plan.prep_bound(ex.down[0], Rmax, false));

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

    auto gather = [&](int64_t s) { load_row_f32(xv, t0 + slot_token[s], xs + s * H); };
    run_items(exec, R, R * H, gather);

    // Each touched expert's gate and up activations, prepared once (x' when quantized).
    size_t off_bytes = 0;
    for (int64_t i = 0; i < n_touched; ++i) {
      prep_off[i] = static_cast<int64_t>(off_bytes);
      const size_t e = static_cast<size_t>(touched[i]);
      off_bytes += scratch_bytes(std::max(Ops::prepare_bytes(ex.gate[e], counts[e], precise),
                                          Ops::prepare_bytes(ex.up[e], counts[e], precise)));
    }
    // Only owners are prepared: up shares its expert's gate preparation when they agree (same x
    // rows), and with one token in the chunk (decode) every expert's x is that token's row, so an
    // expert whose projection agrees with the first touched expert's shares that one.
    const size_t e0 = static_cast<size_t>(touched[0]);
    const bool one_token = Tn == 1;
    auto up_shares_gate = [&](int64_t i) {
      const size_t e = static_cast<size_t>(touched[i]);
      return Ops::same_preparation(ex.gate[e], ex.up[e]);
    };
    // (A token may pick an expert twice: its rows are then that token's row twice, so sharing
    // also needs the same row count.)
    auto shares_first = [&](int64_t i) {
      return one_token && i > 0 && counts[touched[i]] == counts[touched[0]];
    };
    auto gate_shares_first = [&](int64_t i) {
      return shares_first(i) && Ops::same_preparation(ex.gate[e0], ex.gate[static_cast<size_t>(touched[i])]);
    };
    auto up_shares_first = [&](int64_t i) {
      return shares_first(i) && Ops::same_preparation(ex.up[e0], ex.up[static_cast<size_t>(touched[i])]);
    };
    auto prepare_gate_up = [&](int64_t item) {
      const int64_t i = item / 2;
      const int64_t e = touched[i];
      const size_t ei = static_cast<size_t>(e);
      const float* x = xs + offsets[e] * H;
      if (item % 2 == 0) {
        if (gate_shares_first(i)) return;
        new (&p_gate[i]) Prepared(Ops::prepare(ex.gate[ei], x, H, counts[e], precise, prep_gate + prep_off[i]));
      } else {
        if (up_shares_gate(i) || up_shares_first(i)) return;
        new (&p_up[i]) Prepared(Ops::prepare(ex.up[ei], x, H, counts[e], precise, prep_up + prep_off[i]));
      }
    };
    // Quantizing activations costs about 16 copies per element: parallel sooner.
    const int64_t gate_up_cost = plan.precise || Ops::quantizes_input(ex.gate[0]) ? 16 : 1;
    run_items(exec, 2 * n_touched, 2 * R * H * gate_up_cost, prepare_gate_up);
    for (int64_t i = 0; i < n_touched; ++i) {  // the shared views, in this order (sources first)
      if (gate_shares_first(i)) new (&p_gate[i]) Prepared(p_gate[0]);
      if (up_shares_gate(i)) {
        new (&p_up[i]) Prepared(p_gate[i]);
      } else if (up_shares_first(i)) {
        new (&p_up[i]) Prepared(p_up[0]);
      }
    }

    // gate and up together, then silu(gate) * up, per block of intermediate columns.
    const int64_t nbI = (I + kColumnsPerItem - 1) / kColumnsPerItem;
    auto gate_up = [&](int64_t item) {
      const int64_t i = item / nbI;
      const int64_t e = touched[i];
      const size_t ei = static_cast<size_t>(e);
      const int64_t n0 = (item % nbI) * kColumnsPerItem, n1 = std::min(I, n0 + kColumnsPerItem);
      const int64_t off = offsets[e], rows = counts[e];
      if (precise) {
        double* g = static_cast<double*>(gbuf) + off * I;
        double* u = static_cast<double*>(ubuf) + off * I;
        Ops::gemm_f64(ex.gate[ei], p_gate[i], n0, n1, g + n0, I);
        Ops::gemm_f64(ex.up[ei], p_up[i], n0, n1, u + n0, I);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t n = n0; n < n1; ++n) {
            const double gv = g[r * I + n];
            // Rounded to fp32 as the reference rounds it before quantizing (docs/formats.md §3).
            h[(off + r) * I + n] = static_cast<float>(gv / (1.0 + std::exp(-gv)) * u[r * I + n]);
          }
        }
      } else {
        float* g = static_cast<float*>(gbuf) + off * I;
        float* u = static_cast<float*>(ubuf) + off * I;
        Ops::gemm(ex.gate[ei], p_gate[i], n0, n1, g + n0, I);
        Ops::gemm(ex.up[ei], p_up[i], n0, n1, u + n0, I);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t n = n0; n < n1; ++n) {
            const float gv = g[r * I + n];
            h[(off + r) * I + n] = gv / (1.0f + std::exp(-gv)) * u[r * I + n];
          }
        }
      }
    };

    off_bytes = 0;
    for (int64_t i = 0; i < n_touched; ++i) {
      prep_off[i] = static_cast<int64_t>(off_bytes);
      off_bytes += scratch_bytes(Ops::prepare_bytes(ex.down[static_cast<size_t>(touched[i])], counts[touched[i]], false));
    }
    auto prepare_down = [&](int64_t i) {
      const int64_t e = touched[i];
      new (&p_down[i]) Prepared(Ops::prepare(ex.down[static_cast<size_t>(e)], h + offsets[e] * I, I, counts[e],
                                             false, prep_down + prep_off[i]));
    };

    const int64_t nbH = (H + kColumnsPerItem - 1) / kColumnsPerItem;
    auto down = [&](int64_t item) {
      const int64_t i = item / nbH;
      const int64_t e = touched[i];
      const int64_t n0 = (item % nbH) * kColumnsPerItem, n1 = std::min(H, n0 + kColumnsPerItem);
      Ops::gemm(ex.down[static_cast<size_t>(e)], p_down[i], n0, n1, d + offsets[e] * H + n0, H);
    };

    // One parallel pass without a barrier between the projections: items are handed out in order
    // from one counter (all gate/up items, expert by expert, then all down items), so no worker
    // idles at a phase end and the load is balanced to one item whatever the host pool's chunking.
    // The worker finishing an expert's last gate/up item prepares its down input and marks it
    // ready; a down item of an expert not yet ready waits for it. That wait cannot deadlock: every
    // gate/up item it waits for was handed out before it, to a worker that is running it.
    const int64_t n_gu = n_touched * nbI, n_items = n_gu + n_touched * nbH;
    std::atomic<int64_t>* next = counters;
    std::atomic<int64_t>* gu_left = counters + 1;     // [n_touched] gate/up items not finished
    std::atomic<int64_t>* down_ready = gu_left + E;   // [n_touched] 1 once p_down[i] is set
    new (next) std::atomic<int64_t>(0);
    for (int64_t i = 0; i < n_touched; ++i) {
      new (&gu_left[i]) std::atomic<int64_t>(nbI);
      new (&down_ready[i]) std::atomic<int64_t>(0);
    }
    auto worker = [&](int64_t) {
      for (;;) {
        const int64_t it = next->fetch_add(1, std::memory_order_relaxed);
        if (it >= n_items) return;
        if (it < n_gu) {
          gate_up(it);
          const int64_t i = it / nbI;
          if (gu_left[i].fetch_sub(1, std::memory_order_acq_rel) == 1) {  // sees every h row of expert i
            prepare_down(i);
            down_ready[i].store(1, std::memory_order_release);
          }
        } else {
          const int64_t i = (it - n_gu) / nbH;
          // Spin briefly, then yield: on an oversubscribed machine the worker finishing expert i
          // may be waiting for this very CPU.
          for (int spins = 0; down_ready[i].load(std::memory_order_acquire) == 0; ++spins) {
            if (spins < 256) {
              __builtin_ia32_pause();
            } else {
              std::this_thread::yield();
            }
          }
          down(it - n_gu);
        }
      }
    };
    const int64_t threads = INCQ_HAS_FIELD(exec, incq_exec, max_threads) && exec->max_threads > 0 ? exec->max_threads : 1;
    for_each_block(exec, std::min(threads, n_items), worker);

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
    run_items(exec, Tn, R * H, combine);
  }
}

}  // namespace incq::inc_cpu

#endif
