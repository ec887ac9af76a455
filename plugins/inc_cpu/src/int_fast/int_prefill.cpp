#include "int_fast/int_prefill.hpp"

#include <algorithm>
#include <thread>

#include "gemm/gemm_prepare_a.hpp"
#include "int_fast/int_panel.hpp"
#include "int_fast/worker_pool.hpp"
#include "isa/cpu_isa.hpp"

namespace incq::inc_cpu::int_fast {
namespace {

constexpr int kMaxPlannedThreads = 64;
constexpr int64_t kPrepareRows = 16;  // activation rows per work item of the row preparation
constexpr int64_t kPanel = gemm::kPanelCols;

size_t align64(size_t v) { return (v + 63) / 64 * 64; }

struct Bf16Ctx {
  const IntPackedMatrix* w;
};

// PanelSource: nc / 32 dequantized bf16 panels of kc rows, one after the other.
gemm::PanelBlock bf16_block(const void* ctx, int64_t n0, int64_t nc, int64_t k0, int64_t kc, void* buf) {
  const IntPackedMatrix& w = *static_cast<const Bf16Ctx*>(ctx)->w;
  uint16_t* out = static_cast<uint16_t*>(buf);
  for (int64_t j = 0; j < nc; j += kPanel) produce_bf16_panel(w, n0 + j, kPanel, k0, kc, out + j * kc);
  return {buf, kc * kPanel * 2};
}

struct Qu8Ctx {
  const IntPackedMatrix* w;
  const int64_t* seg_start;
};

// PanelSource: nc / 32 exact fp32 panels of kc rows, one after the other.
gemm::PanelBlock f32_block(const void* ctx, int64_t n0, int64_t nc, int64_t k0, int64_t kc, void* buf) {
  const IntPackedMatrix& w = *static_cast<const Bf16Ctx*>(ctx)->w;
  float* out = static_cast<float*>(buf);
  for (int64_t j = 0; j < nc; j += kPanel) produce_f32_panel(w, n0 + j, kPanel, k0, kc, out + j * kc);
  return {buf, kc * kPanel * 4};
}

// Qu8PanelSource: segments [g0, g1) as u8 code panels (segment after segment inside each panel) plus
// each segment's group scale / zero.
gemm::Qu8Block qu8_block(const void* ctx, int64_t n0, int64_t nc, int64_t g0, int64_t g1, uint8_t* buf,
                         float* scale_buf, int32_t* zero_buf) {
  const Qu8Ctx& c = *static_cast<const Qu8Ctx*>(ctx);
  const IntPackedMatrix& w = *c.w;
  const int64_t base = c.seg_start[g0], rows = c.seg_start[g1] - base;
  for (int64_t j = 0; j < nc; j += kPanel) {
    for (int64_t g = g0; g < g1; ++g) {
      produce_u8_rows_panel(w, n0 + j, kPanel, c.seg_start[g], c.seg_start[g + 1],
                            buf + j * rows + (c.seg_start[g] - base) * kPanel);
    }
  }
  for (int64_t g = g0; g < g1; ++g) {
    produce_group_params(w, n0, nc, w.seg_group_of(g), scale_buf + (g - g0) * nc, zero_buf + (g - g0) * nc);
  }
  return {buf, rows * kPanel, scale_buf, zero_buf, nc};
}

// Without a host pool the GEMM driver's items run on inc_cpu's worker pool (the `exec` given here).
void pool_trampoline(void* pool_ctx, int64_t n, incq_range_fn fn, void* fn_ctx) {
  run_parallel(static_cast<const incq_exec*>(pool_ctx), n, fn, fn_ctx);
}

struct Layout {
  int64_t kp = 0, lda = 0;
  size_t gathered = 0, a = 0, scale = 0, gsum = 0;  // bytes
  size_t fixed() const { return gathered + a + scale + gsum; }
};

Layout layout(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, int64_t rows) {
  Layout l;
  const size_t r = static_cast<size_t>(rows);
  if (ct == ComputeType::kBf16 && p.bf16_f32) {
    // fp32 GEMM: the (gathered, zero-padded) fp32 rows are A itself, at a stride without L1 aliasing.
    l.kp = w.K_int;
    l.lda = gemm::activation_row_stride(l.kp, 4);
    l.a = align64(r * static_cast<size_t>(l.lda) * 4);
    return l;
  }
  if (!w.k_source.empty()) l.gathered = align64(r * static_cast<size_t>(w.K_int) * 4);
  if (ct == ComputeType::kBf16) {
    l.kp = gemm::bf16_padded_k(w.K_int);
    l.lda = gemm::activation_row_stride(l.kp, 2);
    l.a = align64(r * static_cast<size_t>(l.lda) * 2);
  } else {
    l.kp = p.seg_start.back();
    l.lda = gemm::activation_row_stride(l.kp, 1);
    l.a = align64(r * static_cast<size_t>(l.lda));
    l.scale = align64(r * 4);
    l.gsum = align64(r * (p.seg_start.size() - 1) * 4);
  }
  return l;
}

gemm::Bf16Gemm bf16_desc(const IntPackedMatrix& w, const IntPrefill& p, const Bf16Ctx* ctx, int64_t M) {
  gemm::Bf16Gemm g;
  g.M = M;
  g.N = w.N;
  g.K = w.K_int;
  g.b = {bf16_block, ctx};
  g.tier = p.bf16_tier;
  // Bounded K steps: the fp32 accumulation bound of docs/compute_modes.md.
  g.blocking.kc = prefill_bf16_k_step(p);
  return g;
}

gemm::F32Gemm f32_desc(const IntPackedMatrix& w, const IntPrefill& p, const Bf16Ctx* ctx, int64_t M) {
  gemm::F32Gemm g;
  g.M = M;
  g.N = w.N;
  g.K = w.K_int;
  g.b = {f32_block, ctx};
  g.blocking.kc = prefill_bf16_k_step(p);
  return g;
}

gemm::Qu8Gemm qu8_desc(const IntPackedMatrix& w, const IntPrefill& p, const Qu8Ctx* ctx, int64_t M) {
  gemm::Qu8Gemm g;
  g.M = M;
  g.N = w.N;
  g.num_groups = static_cast<int64_t>(p.seg_start.size()) - 1;
  g.group_start = p.seg_start.data();
  g.b = {qu8_block, ctx};
  return g;
}

size_t gemm_bytes(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, int64_t M, int threads) {
  if (ct == ComputeType::kBf16 && p.bf16_f32) return gemm::gemm_f32_scratch_bytes(f32_desc(w, p, nullptr, M), threads);
  if (ct == ComputeType::kBf16) {
    const gemm::Bf16Gemm g = bf16_desc(w, p, nullptr, M);
    return gemm::gemm_bf16_scratch_bytes(g, threads);
  }
  gemm::Qu8Gemm g = qu8_desc(w, p, nullptr, M);
  g.tier = p.int8_tier;
  return gemm::gemm_qu8_scratch_bytes(g, threads);
}

}  // namespace

int prefill_planned_threads() {
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(std::max(hw, worker_pool_budget()), 1, kMaxPlannedThreads);
}

IntPrefill plan_int_prefill(const IntPackedMatrix& w) {
  IntPrefill p;
  // Tiers under the plugin option `isa` (isa::active_features), like the decode kernels, so every
  // prefill tier can be run on one machine.
  const isa::CpuFeatures f = isa::active_features();
  // Without AMX the bf16 mode runs the fp32 FMA GEMM on exact weights: as fast as vdpbf16ps where
  // that has one port (Sapphire Rapids), 1.3-1.9x faster on the dev machine (tile benchmark; its
  // oneDNN f32 matmul beats oneDNN bf16 there too), and more accurate. (The AVX512-BF16 and the
  // 12x32c2 fp32 tiers of the bf16 GEMM have no use here.)
  if (f.amx_bf16 && gemm::best_bf16_tier() == gemm::GemmTier::kAmx) {
    p.bf16_tier = gemm::GemmTier::kAmx;
  } else {
    p.bf16_f32 = f.avx512 && gemm::f32_gemm_supported();
  }
  if (f.amx_int8 && gemm::best_int8_tier() == gemm::GemmTier::kAmx) {
    p.int8_tier = gemm::GemmTier::kAmx;
  } else if (f.avx512 && f.avx512vnni && gemm::best_int8_tier() != gemm::GemmTier::kNone) {
    p.int8_tier = gemm::GemmTier::kAvx512Vnni;
  }
  const int64_t ns = w.num_segments();
  p.seg_start.resize(static_cast<size_t>(ns + 1));
  for (int64_t s = 0; s <= ns; ++s) p.seg_start[static_cast<size_t>(s)] = w.seg_begin(s);
  if (gemm::qu8_groups_error(p.seg_start.data(), ns) != nullptr) p.int8_tier = gemm::GemmTier::kNone;
  return p;
}

int64_t prefill_bf16_k_step(const IntPrefill& p) {
  return p.bf16_tier == gemm::GemmTier::kAmx ? 4 * kMaxSegmentRows : kMaxSegmentRows;
}

bool use_prefill(const IntPrefill& p, ComputeType ct, int32_t act_dtype, int64_t M) {
  if (M < kPrefillMinRows) return false;
  if (ct == ComputeType::kBf16)
    return act_dtype == INCQ_DTYPE_BF16 && (p.bf16_tier != gemm::GemmTier::kNone || p.bf16_f32);
  if (ct == ComputeType::kInt8) return p.int8_tier != gemm::GemmTier::kNone;
  return false;
}

size_t int_prefill_scratch_bytes(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, int threads) {
  if (!use_prefill(p, ct, INCQ_DTYPE_BF16, kPrefillRowChunk)) return 0;
  size_t need = 0;
  // The driver's split (and so its scratch) depends on M: take the largest over the row counts a pass
  // can have (the split only changes at multiples of the row tile, so a coarse sweep is enough).
  for (int64_t m = kPrefillMinRows; m <= kPrefillRowChunk; m += (m < 64 ? 1 : 16)) {
    need = std::max(need, gemm_bytes(w, p, ct, m, threads));
  }
  return layout(w, p, ct, kPrefillRowChunk).fixed() + align64(need) + 4096;
}

bool int_prefill_rows(const IntPackedMatrix& w, const IntPrefill& p, ComputeType ct, const float* x, int64_t mc,
                      float* y, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  const Layout l = layout(w, p, ct, mc);
  if (scratch_bytes < l.fixed() + 64) return false;
  char* base = static_cast<char*>(scratch);
  char* gemm_scratch = base + l.fixed();
  const size_t gemm_room = scratch_bytes - l.fixed();

  const bool host_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  int threads = INCQ_HAS_FIELD(exec, incq_exec, max_threads) ? std::max(1, exec->max_threads) : 1;
  if (!host_pool) threads = std::min(threads, worker_pool_budget());
  threads = std::min(threads, kMaxPlannedThreads);
  while (threads > 1 && gemm_bytes(w, p, ct, mc, threads) > gemm_room) --threads;
  if (gemm_bytes(w, p, ct, mc, threads) > gemm_room) return false;
  incq_exec shim{};
  shim.struct_size = sizeof(incq_exec);
  shim.max_threads = threads;
  if (host_pool) {
    shim.parallel_for = exec->parallel_for;
    shim.pool_ctx = exec->pool_ctx;
  } else if (exec != nullptr && threads > 1) {
    shim.parallel_for = pool_trampoline;
    shim.pool_ctx = const_cast<incq_exec*>(exec);
  }

  // Activations in internal K order (padding rows 0), then into the kernels' form, and y's bias
  // rows: split by rows over the GEMM's threads (done serially it took about as long as the GEMM
  // itself at 16 threads for K = 14336).
  const float* src = x;
  int64_t ldsrc = w.K, kreal = w.K;
  float* gathered = nullptr;
  if (!w.k_source.empty() && !(ct == ComputeType::kBf16 && p.bf16_f32)) {
    gathered = reinterpret_cast<float*>(base);
    src = gathered;
    ldsrc = w.K_int;
    kreal = w.K_int;
  }
  char* a = base + l.gathered;
  // Bias first, the GEMM accumulates onto it.
  const bool bias = w.bias_dtype != 0;
  if (bias) {
    for (int64_t n = 0; n < w.N; ++n) y[n] = w.bias_at(n);
  }
  const int64_t ns = static_cast<int64_t>(p.seg_start.size()) - 1;
  int8_t* aq = reinterpret_cast<int8_t*>(a);
  float* sx = reinterpret_cast<float*>(a + l.a);
  int32_t* gsum = reinterpret_cast<int32_t*>(a + l.a + l.scale);
  const bool f32 = ct == ComputeType::kBf16 && p.bf16_f32;
  auto prepare_rows = [&](int64_t item) {
    const int64_t m0 = item * kPrepareRows, m1 = std::min(mc, m0 + kPrepareRows);
    if (f32) {
      float* af = reinterpret_cast<float*>(a);
      for (int64_t m = m0; m < m1; ++m) gather_x_internal(w, x + m * w.K, af + m * l.lda);
    } else if (gathered != nullptr) {
      for (int64_t m = m0; m < m1; ++m) gather_x_internal(w, x + m * w.K, gathered + m * w.K_int);
    }
    if (bias) {
      for (int64_t m = std::max<int64_t>(m0, 1); m < m1; ++m) std::copy(y, y + w.N, y + m * w.N);
    }
    if (f32) {
      // A is ready.
    } else if (ct == ComputeType::kBf16) {
      gemm::prepare_a_bf16_from_f32_avx512(src, ldsrc, m0, m1, kreal, l.kp, reinterpret_cast<uint16_t*>(a), l.lda);
    } else {
      gemm::prepare_a_s8_from_f32_avx512(src, ldsrc, m0, m1, kreal, l.kp, aq, l.lda, sx, p.seg_start.data(), ns,
                                         gsum);
    }
  };
  parallel_for_each(&shim, (mc + kPrepareRows - 1) / kPrepareRows, prepare_rows);

  if (f32) {
    const Bf16Ctx ctx{&w};
    gemm::F32Gemm g = f32_desc(w, p, &ctx, mc);
    g.a = reinterpret_cast<const float*>(a);
    g.lda = l.lda;
    g.c = y;
    g.ldc = w.N;
    g.accumulate = bias;
    gemm::gemm_f32_f32(g, &shim, gemm_scratch, gemm_room);
    return true;
  }
  if (ct == ComputeType::kBf16) {
    const Bf16Ctx ctx{&w};
    gemm::Bf16Gemm g = bf16_desc(w, p, &ctx, mc);
    g.a = reinterpret_cast<const uint16_t*>(a);
    g.lda = l.lda;
    g.c = y;
    g.ldc = w.N;
    g.accumulate = bias;
    gemm::gemm_bf16_f32(g, &shim, gemm_scratch, gemm_room);
    return true;
  }
  const Qu8Ctx ctx{&w, p.seg_start.data()};
  gemm::Qu8Gemm g = qu8_desc(w, p, &ctx, mc);
  g.a = aq;
  g.lda = l.lda;
  g.a_scale = sx;
  g.a_group_sum = gsum;
  g.c = y;
  g.ldc = w.N;
  g.accumulate = bias;
  g.tier = p.int8_tier;
  gemm::gemm_qu8_f32(g, &shim, gemm_scratch, gemm_room);
  return true;
}

}  // namespace incq::inc_cpu::int_fast
