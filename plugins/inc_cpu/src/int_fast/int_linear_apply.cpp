#include "int_fast/int_linear_apply.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "incq/plugin_helpers.hpp"
#include "int_fast/scratch_arena.hpp"
#include "int_fast/worker_pool.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

// 32 columns (the kernels' strip pair) per item of work. Items are handed out from one atomic
// counter by as many tasks as there are threads, so a thread that starts late (a worker's wake-up
// takes tens of microseconds on some machines) just takes fewer items: the call's time stays close
// to its bytes / bandwidth even when the threads start unevenly.
constexpr int64_t kStripsPerItem = 2;

size_t align64(size_t v) { return (v + 63) / 64 * 64; }

void load_row(const MatrixView& v, int64_t m, float* out, const IntKernels& k) {
  const char* p = static_cast<const char*>(v.at(m, 0));
  if (v.dtype == INCQ_DTYPE_F32) {
    std::memcpy(out, p, static_cast<size_t>(v.cols) * 4);
    return;
  }
  const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
  if (v.dtype == INCQ_DTYPE_BF16 && k.bf16_to_f32_row != nullptr) return k.bf16_to_f32_row(h, v.cols, out);
  if (v.dtype == INCQ_DTYPE_F16 && k.f16_to_f32_row != nullptr) return k.f16_to_f32_row(h, v.cols, out);
  if (v.dtype == INCQ_DTYPE_BF16) {
    for (int64_t k = 0; k < v.cols; ++k) out[k] = bf16_to_float(h[k]);
  } else {
    for (int64_t k = 0; k < v.cols; ++k) out[k] = half_to_float(h[k]);
  }
}

void store_row(const MatrixView& v, int64_t m, const float* in) {
  char* p = static_cast<char*>(v.at(m, 0));
  if (v.dtype == INCQ_DTYPE_F32) {
    std::memcpy(p, in, static_cast<size_t>(v.cols) * 4);
    return;
  }
  uint16_t* h = reinterpret_cast<uint16_t*>(p);
  if (v.dtype == INCQ_DTYPE_BF16) {
    for (int64_t n = 0; n < v.cols; ++n) h[n] = float_to_bf16(in[n]);
  } else {
    for (int64_t n = 0; n < v.cols; ++n) h[n] = float_to_half(in[n]);
  }
}

struct ColumnWork {
  const IntFastWeights* weights;
  const PreparedActivations* act;
  float* y;
  int64_t ldy;
  int64_t items;
  std::atomic<int64_t> next{0};
};

// One task per thread; each drains items until none is left.
void column_tasks(void* ctx, int64_t, int64_t) {
  ColumnWork& c = *static_cast<ColumnWork*>(ctx);
  const IntPackedMatrix& w = c.weights->w;
  for (int64_t i = c.next.fetch_add(1, std::memory_order_relaxed); i < c.items;
       i = c.next.fetch_add(1, std::memory_order_relaxed)) {
    const int64_t n0 = i * kStripsPerItem * kStripWidth;
    const int64_t n1 = std::min(w.N, n0 + kStripsPerItem * kStripWidth);
    int_matmul_columns(w, c.weights->kernels, *c.act, n0, n1, c.y, c.ldy, true);
  }
}

// Tasks for one call: the threads the host lends (or the pool's budget), at most one per item.
int64_t column_task_count(const incq_exec* exec, int64_t items) {
  const bool host_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  const bool bounded = INCQ_HAS_FIELD(exec, incq_exec, max_threads) && exec->max_threads > 0;
  // A host pool without a stated bound gets every item as a task (its own pool sizes the split).
  int64_t threads = bounded ? exec->max_threads : (host_pool ? items : 1);
  if (!host_pool) threads = std::min<int64_t>(threads, worker_pool_budget());
  return std::max<int64_t>(1, std::min(threads, items));
}

// Row-major index m * cols + k of the first NaN/Inf of x (by its stored exponent bits), or -1.
int64_t first_nonfinite(const MatrixView& v, const incq_exec* exec) {
  std::atomic<int64_t> first{INT64_MAX};
  auto row = [&](int64_t m) {
    const char* p = static_cast<const char*>(v.at(m, 0));
    int64_t k = 0;
    if (v.dtype == INCQ_DTYPE_F32) {
      const uint32_t* u = reinterpret_cast<const uint32_t*>(p);
      while (k < v.cols && (u[k] & 0x7F800000u) != 0x7F800000u) ++k;
    } else {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
      const uint16_t e = v.dtype == INCQ_DTYPE_BF16 ? 0x7F80 : 0x7C00;
      while (k < v.cols && (h[k] & e) != e) ++k;
    }
    if (k == v.cols) return;
    const int64_t at = m * v.cols + k;
    int64_t cur = first.load(std::memory_order_relaxed);
    while (at < cur && !first.compare_exchange_weak(cur, at, std::memory_order_relaxed)) {
    }
  };
  parallel_for_each(exec, v.rows, row);
  const int64_t f = first.load();
  return f == INT64_MAX ? -1 : f;
}

// Prefill pass layout: x rows (fp32) | y rows (fp32) | int_prefill_rows' scratch.
size_t prefill_xy_bytes(const IntPackedMatrix& w) {
  const size_t rows = static_cast<size_t>(kPrefillRowChunk);
  return align64(rows * static_cast<size_t>(w.K) * 4) + align64(rows * static_cast<size_t>(w.N) * 4);
}

// M >= kPrefillMinRows rows through the GEMMs; false when the lease is too small (nothing written).
bool apply_prefill(const IntFastWeights& weights, ComputeType ct, const MatrixView& xv, const MatrixView& yv,
                   const incq_exec* exec, const ScratchLease& lease) {
  const IntPackedMatrix& w = weights.w;
  if (lease.size() < prefill_xy_bytes(w)) return false;
  char* base = static_cast<char*>(lease.data());
  float* xf = reinterpret_cast<float*>(base);
  float* yf = reinterpret_cast<float*>(base + align64(static_cast<size_t>(kPrefillRowChunk * w.K) * 4));
  char* rest = base + prefill_xy_bytes(w);
  const size_t rest_bytes = lease.size() - prefill_xy_bytes(w);
  for (int64_t m0 = 0; m0 < xv.rows; m0 += kPrefillRowChunk) {
    const int64_t mc = std::min(kPrefillRowChunk, xv.rows - m0);
    // Row conversions in parallel too: serial they cost as much as the GEMM at 16 threads (cpu-prefill).
    auto load = [&](int64_t m) { load_row(xv, m0 + m, xf + m * w.K, weights.kernels); };
    parallel_for_each(exec, mc, load);
    if (!int_prefill_rows(w, weights.prefill, ct, xf, mc, yf, exec, rest, rest_bytes)) return false;
    auto store = [&](int64_t m) { store_row(yv, m0 + m, yf + m * w.N); };
    parallel_for_each(exec, mc, store);
  }
  return true;
}

}  // namespace

size_t int_linear_scratch_bytes(const IntPackedMatrix& w, ComputeType ct, const IntPrefill* prefill) {
  const size_t rows = static_cast<size_t>(kApplyRowChunk);
  const size_t decode = align64(rows * static_cast<size_t>(w.K) * 4) +
                        align64(activation_scratch_bytes(w, ct, kApplyRowChunk)) +
                        align64(rows * static_cast<size_t>(w.N) * 4);
  if (prefill == nullptr) return decode;
  const size_t pre = int_prefill_scratch_bytes(w, *prefill, ct, prefill_planned_threads());
  return pre == 0 ? decode : std::max(decode, prefill_xy_bytes(w) + pre);
}

void int_fast_linear_apply(const IntFastWeights& weights, ComputeType ct, const std::string& layer,
                           int32_t act_dtype, const incq_tensor* x, incq_tensor* y, const incq_exec* exec) {
  const IntPackedMatrix& w = weights.w;
  const MatrixView xv = check_matrix_arg(x, layer, "x", act_dtype, -1, w.K);
  const MatrixView yv = check_matrix_arg(y, layer, "y", act_dtype, xv.rows, w.N);
  if (xv.rows == 0) return;
  ScratchLease lease;
  // Finite inputs are checked before the int8 prefill path too (it shares the check below).
  const bool prefill = use_prefill(weights.prefill, ct, act_dtype, xv.rows);
  const size_t need = int_linear_scratch_bytes(w, ct);
  if (lease.size() < need) {
    fail(INCQ_ERR_INTERNAL, "layer '" + layer + "': scratch of " + std::to_string(lease.size()) +
                                " bytes, apply needs " + std::to_string(need) + " (process_weights reserves it)");
  }
  char* base = static_cast<char*>(lease.data());
  float* xf = reinterpret_cast<float*>(base);
  void* prep = base + align64(static_cast<size_t>(kApplyRowChunk * w.K) * 4);
  float* yf = reinterpret_cast<float*>(static_cast<char*>(prep) +
                                       align64(activation_scratch_bytes(w, ct, kApplyRowChunk)));
  if (ct == ComputeType::kInt8) {
    // A NaN/Inf has no int8 code (docs/formats.md §3): refuse before writing any output. Rows are
    // checked in parallel on their stored bits (cpu-prefill: serial, with a conversion of every row,
    // this took as long as the whole 16-thread int8 prefill GEMM at K = 14336).
    const int64_t bad = first_nonfinite(xv, exec);
    if (bad >= 0) {
      const int64_t m = bad / w.K, k = bad % w.K;
      load_row(xv, m, xf, weights.kernels);
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + layer + "': x[" + std::to_string(m) + ", " + std::to_string(k) +
                                          "] is " + (std::isnan(xf[k]) ? "NaN" : "Inf") +
                                          ": int8 activation quantization needs finite inputs");
    }
  }
  if (prefill && apply_prefill(weights, ct, xv, yv, exec, lease)) return;
  const int64_t items = (w.num_strips() + kStripsPerItem - 1) / kStripsPerItem;
  for (int64_t m0 = 0; m0 < xv.rows; m0 += kApplyRowChunk) {
    const int64_t mc = std::min(kApplyRowChunk, xv.rows - m0);
    for (int64_t m = 0; m < mc; ++m) load_row(xv, m0 + m, xf + m * w.K, weights.kernels);
    const PreparedActivations act = prepare_activations(w, ct, xf, w.K, mc, prep, &weights.kernels);
    ColumnWork work{&weights, &act, yf, w.N, items};
    run_parallel(exec, column_task_count(exec, items), column_tasks, &work);
    for (int64_t m = 0; m < mc; ++m) store_row(yv, m0 + m, yf + m * w.N);
  }
}

}  // namespace incq::inc_cpu::int_fast
