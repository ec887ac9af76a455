#include "gemm/gemm_driver.hpp"

#include <algorithm>

#include "column_blocks.hpp"
#include "gemm/amx_permission.hpp"
#include "gemm/gemm_ukernels.hpp"

namespace incq::inc_cpu::gemm {
namespace {

constexpr int kMaxThreads = 256;
constexpr size_t kSlotAlign = 4096;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Work split: column blocks of nc; when they are too few for the threads, rows are split as well
// (each row block then decodes its own copy of the panels it reads).
struct Split {
  int64_t nc, nb, mc, mb, items;
};

Split make_split(int64_t M, int64_t N, int64_t nc_req, int threads, int64_t row_align, int64_t nc_max) {
  const int64_t Np = padded_cols(N);
  // Wide blocks: every column block re-reads all of A, so fewer blocks is less A traffic; but at
  // least one block per thread, and a whole number of blocks per thread where that is possible.
  int64_t nc = nc_req > 0 ? round_up(nc_req, kPanelCols) : nc_max;
  if (nc_req <= 0) {
    while (nc > kPanelCols && ceil_div(Np, nc) < threads) nc /= 2;
    if (nc > kPanelCols && ceil_div(Np, nc) % threads != 0 && ceil_div(Np, nc / 2) % threads == 0) nc /= 2;
  }
  nc = std::min(nc, Np);
  const int64_t nb = ceil_div(Np, nc);
  int64_t mb = 1;
  if (nb < threads) mb = std::min(ceil_div(threads, nb), ceil_div(M, row_align));
  const int64_t mc = round_up(ceil_div(M, mb), row_align);
  mb = ceil_div(M, mc);
  return {nc, nb, mc, mb, std::min<int64_t>(threads, nb * mb)};
}

size_t slot_bytes(int64_t nc, int64_t kc, int64_t element_bytes) {
  return static_cast<size_t>(round_up(nc * kc * element_bytes, kSlotAlign));
}

// Runs `item(i, slot)` for i in [0, items) through the exec; item i uses scratch slot i.
template <typename Body>
void run_items(const incq_exec* exec, int64_t items, Body& body) {
  for_each_block(exec, items, body);
}

}  // namespace

const char* gemm_tier_name(GemmTier t) {
  switch (t) {
    case GemmTier::kAvx512Fp32: return "avx512";
    case GemmTier::kAvx512Bf16: return "avx512bf16";
    case GemmTier::kAvx512Vnni: return "avx512vnni";
    case GemmTier::kAmx: return "amx";
    default: return "none";
  }
}

GemmTier best_bf16_tier() {
  // (AMX's bf16 block kernel once died with SIGILL here: GCC 12's _tile_loadconfig let the compiler
  // drop the tile shapes from the config, see amx_tiles_amx.hpp amx_load_config.)
  if (amx_request_permission()) return GemmTier::kAmx;
  if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return GemmTier::kAvx512Bf16;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return GemmTier::kAvx512Fp32;
  return GemmTier::kNone;
}

GemmTier best_int8_tier() {
  if (amx_request_permission()) return GemmTier::kAmx;
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return GemmTier::kAvx512Vnni;
  return GemmTier::kNone;
}

int64_t activation_row_stride(int64_t Kp, int64_t elem_bytes) {
  return (Kp * elem_bytes) % 2048 == 0 ? Kp + 64 / elem_bytes : Kp;
}

int gemm_threads(const incq_exec* exec) {
  const bool has_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  if (!has_pool) return 1;
  return std::clamp<int>(exec->max_threads, 1, kMaxThreads);
}

// ------------------------------------------------------------------ bf16

namespace {

// Defaults from tests/gemm_tuning sweeps on the 16-core Xeon (M = 512, N = 4096, K = 4096 / 14336):
// the AVX-512 tiers were flat in column block (<= 256) and K step; AMX (per-tile kernel, before the
// block kernel) did best with K steps of 1024. The AMX block kernel's blocking is not measured yet.
constexpr int64_t kBf16NcMax = 256;

// AMX split: blocks of p panels (p <= 8) x mc rows, handed out to the threads in equal contiguous
// ranges. p is chosen for the smallest per-thread share of the busiest thread (panels x rows), ties
// to the widest blocks (each column block re-reads A): e.g. N = 14336 at 16 threads takes 7-panel
// blocks (64 blocks, 4 per thread) instead of 8-panel ones (56 blocks, 3 or 4 per thread).
Split amx_bf16_split(const Bf16Gemm& g, int threads) {
  const int64_t P = padded_cols(g.N) / kPanelCols;
  Split best{};
  int64_t best_cost = -1;
  const int64_t p_max = g.blocking.nc > 0 ? round_up(g.blocking.nc, kPanelCols) / kPanelCols : 8;
  const int64_t p_min = g.blocking.nc > 0 ? p_max : 1;
  for (int64_t p = p_max; p >= p_min; --p) {
    const int64_t nc = std::min(p, P) * kPanelCols, nb = ceil_div(P * kPanelCols, nc);
    int64_t mb = 1;
    if (g.blocking.mc > 0) {
      mb = ceil_div(g.M, round_up(g.blocking.mc, kAmxRows));
    } else if (nb < threads) {
      mb = std::min(ceil_div(threads, nb), ceil_div(g.M, kAmxRows));
    }
    const int64_t mc = round_up(ceil_div(g.M, mb), kAmxRows);
    mb = ceil_div(g.M, mc);
    const int64_t items = std::min<int64_t>(threads, nb * mb);
    const int64_t cost = ceil_div(nb * mb, items) * (nc / kPanelCols) * std::min(mc, g.M);
    if (best_cost < 0 || cost < best_cost) {
      best = {nc, nb, mc, mb, items};
      best_cost = cost;
    }
  }
  return best;
}

Split bf16_split(const Bf16Gemm& g, int threads) {
  if (g.tier == GemmTier::kAmx) return amx_bf16_split(g, threads);
  return make_split(g.M, g.N, g.blocking.nc, threads, 14, kBf16NcMax);
}

int64_t bf16_kc_inner(const Bf16Gemm& g, int64_t kc) {
  return std::min(kc, g.blocking.kc_inner > 0 ? round_up(g.blocking.kc_inner, kBf16KAlign) : int64_t{256});
}

// Bytes of the AMX block kernel's C parking buffer ([nc / 32][32][32] fp32) per work item.
size_t bf16_acc_bytes(const Bf16Gemm& g, const Split& s) {
  return g.tier == GemmTier::kAmx ? slot_bytes(s.nc, 32, 4) : 0;
}

int64_t bf16_kc(const Bf16Gemm& g) {
  const int64_t Kp = bf16_padded_k(g.K);
  const int64_t def = g.tier == GemmTier::kAmx ? 1024 : 256;
  return std::min(Kp, g.blocking.kc > 0 ? round_up(g.blocking.kc, kBf16KAlign) : def);
}

// Row tiles over [m0, m1) for one panel of one K step (AVX-512 tiers).
void bf16_rows(const Bf16Gemm& g, int64_t m0, int64_t m1, int64_t lda, int64_t k0, int64_t kc,
               const uint16_t* panel, int64_t n0, bool acc) {
  Bf16TileArgs t{};
  t.nr = std::min<int64_t>(kPanelCols, g.N - n0);
  t.kc = kc;
  t.lda = lda;
  t.b = panel;
  t.ldc = g.ldc;
  t.accumulate = acc;
  int64_t m = m0;  // (AMX goes through bf16_rows_amx_block)
  const bool fp32 = g.tier == GemmTier::kAvx512Fp32;
  const int64_t max_rows = fp32 ? kF32FallbackMaxRows : kBf16MaxRows;
  for (; m < m1; m += t.mr) {
    t.mr = std::min(max_rows, m1 - m);
    t.a = g.a + m * lda + k0;
    t.c = g.c + m * g.ldc + n0;
    if (fp32) {
      gemm_bf16_f32_12x32c2_avx512(t);
    } else {
      gemm_bf16_f32_14x32c2_avx512bf16(t);
    }
  }
}

// AMX: rows [m0, m1) of one K step of a column block with the block kernel (tile config already
// loaded by the item), then the < 16 leftover rows with the AVX512-BF16 kernel panel by panel.
void bf16_rows_amx_block(const Bf16Gemm& g, int64_t m0, int64_t m1, int64_t lda, int64_t k0, int64_t kc,
                         const PanelBlock& pb, int64_t n0, int64_t nc, bool add, float* acc) {
  Bf16AmxBlockArgs t{};
  t.panels = nc / kPanelCols;
  t.kc = kc;
  t.kc_inner = bf16_kc_inner(g, kc);
  t.lda = lda;
  t.b = static_cast<const uint16_t*>(pb.data);
  t.panel_stride = pb.panel_stride / 2;
  t.acc = acc;
  t.ldc = g.ldc;
  t.n_valid = std::min(nc, g.N - n0);
  t.add = add;
  int64_t m = m0;
  for (; m + 16 <= m1; m += t.mr) {
    t.mr = m + kAmxRows <= m1 ? kAmxRows : 16;
    t.a = g.a + m * lda + k0;
    t.c = g.c + m * g.ldc + n0;
    gemm_bf16_f32_32xnc_amx_block(t);
  }
  if (m == m1) return;
  for (int64_t j = 0; j < nc && n0 + j < g.N; j += kPanelCols) {
    Bf16TileArgs r{};
    r.mr = m1 - m;  // < 16 <= kBf16MaxRows
    r.nr = std::min<int64_t>(kPanelCols, g.N - n0 - j);
    r.kc = kc;
    r.a = g.a + m * lda + k0;
    r.lda = lda;
    r.b = reinterpret_cast<const uint16_t*>(static_cast<const char*>(pb.data) + (j / kPanelCols) * pb.panel_stride);
    r.c = g.c + m * g.ldc + n0 + j;
    r.ldc = g.ldc;
    r.accumulate = add;
    gemm_bf16_f32_14x32c2_avx512bf16(r);
  }
}

}  // namespace

size_t gemm_bf16_scratch_bytes(const Bf16Gemm& g, int threads) {
  const Split s = bf16_split(g, threads);
  return static_cast<size_t>(s.items) * (slot_bytes(s.nc, bf16_kc(g), 2) + bf16_acc_bytes(g, s)) + kSlotAlign;
}

void gemm_bf16_f32(const Bf16Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = gemm_threads(exec);
  const Split s = bf16_split(g, threads);
  const int64_t Kp = bf16_padded_k(g.K);
  const int64_t kc = bf16_kc(g);
  const size_t panel_bytes = slot_bytes(s.nc, kc, 2);
  const size_t slot = panel_bytes + bf16_acc_bytes(g, s);
  const bool amx = g.tier == GemmTier::kAmx;
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(scratch), kSlotAlign));
  (void)scratch_bytes;  // sized by gemm_bf16_scratch_bytes for the same exec
  const int64_t blocks = s.nb * s.mb;
  auto body = [&](int64_t item) {
    auto* buf = reinterpret_cast<uint16_t*>(base + item * slot);
    auto* acc = reinterpret_cast<float*>(base + item * slot + panel_bytes);
    for (int64_t blk = item * blocks / s.items; blk < (item + 1) * blocks / s.items; ++blk) {
      const int64_t n0 = (blk / s.mb) * s.nc, m0 = (blk % s.mb) * s.mc;
      const int64_t nc = std::min(s.nc, padded_cols(g.N) - n0), m1 = std::min(g.M, m0 + s.mc);
      for (int64_t k0 = 0; k0 < Kp; k0 += kc) {
        const int64_t kcur = std::min(kc, Kp - k0);
        const PanelBlock pb = g.b.get(g.b.ctx, n0, nc, k0, kcur, buf);
        if (amx) {
          // Tile configuration once per K step of a block (not per tile call), and after get(): a
          // decoding source is free to use AMX with its own configuration.
          amx_bf16_block_begin();
          bf16_rows_amx_block(g, m0, m1, g.lda > 0 ? g.lda : Kp, k0, kcur, pb, n0, nc, g.accumulate || k0 > 0, acc);
          continue;
        }
        for (int64_t j = 0; j < nc; j += kPanelCols) {
          const auto* panel = reinterpret_cast<const uint16_t*>(static_cast<const char*>(pb.data) +
                                                                (j / kPanelCols) * pb.panel_stride);
          bf16_rows(g, m0, m1, g.lda > 0 ? g.lda : Kp, k0, kcur, panel, n0 + j, g.accumulate || k0 > 0);
        }
      }
    }
    if (amx) amx_bf16_block_end();  // leave the thread's tile state in init (cheaper context switches)
  };
  run_items(exec, s.items, body);
}

// ------------------------------------------------------------------ fp32

namespace {

int64_t f32_kc(const F32Gemm& g) { return std::min(g.K, g.blocking.kc > 0 ? g.blocking.kc : int64_t{256}); }

Split f32_split(const F32Gemm& g, int threads) {
  return make_split(g.M, g.N, g.blocking.nc, threads, kF32MaxRows, kBf16NcMax);
}

}  // namespace

bool f32_gemm_supported() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

size_t gemm_f32_scratch_bytes(const F32Gemm& g, int threads) {
  const Split s = f32_split(g, threads);
  return static_cast<size_t>(s.items) * slot_bytes(s.nc, f32_kc(g), 4) + kSlotAlign;
}

void gemm_f32_f32(const F32Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = gemm_threads(exec);
  const Split s = f32_split(g, threads);
  const int64_t kc = f32_kc(g);
  const size_t slot = slot_bytes(s.nc, kc, 4);
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(scratch), kSlotAlign));
  (void)scratch_bytes;  // sized by gemm_f32_scratch_bytes for the same exec
  const int64_t blocks = s.nb * s.mb;
  const int64_t lda = g.lda > 0 ? g.lda : g.K;
  auto body = [&](int64_t item) {
    void* buf = base + item * slot;
    for (int64_t blk = item * blocks / s.items; blk < (item + 1) * blocks / s.items; ++blk) {
      const int64_t n0 = (blk / s.mb) * s.nc, m0 = (blk % s.mb) * s.mc;
      const int64_t nc = std::min(s.nc, padded_cols(g.N) - n0), m1 = std::min(g.M, m0 + s.mc);
      for (int64_t k0 = 0; k0 < g.K; k0 += kc) {
        const int64_t kcur = std::min(kc, g.K - k0);
        const PanelBlock pb = g.b.get(g.b.ctx, n0, nc, k0, kcur, buf);
        for (int64_t j = 0; j < nc && n0 + j < g.N; j += kPanelCols) {
          F32TileArgs t{};
          t.nr = std::min<int64_t>(kPanelCols, g.N - n0 - j);
          t.kc = kcur;
          t.lda = lda;
          t.b = reinterpret_cast<const float*>(static_cast<const char*>(pb.data) + (j / kPanelCols) * pb.panel_stride);
          t.ldc = g.ldc;
          t.accumulate = g.accumulate || k0 > 0;
          for (int64_t m = m0; m < m1; m += t.mr) {
            t.mr = std::min(kF32MaxRows, m1 - m);
            t.a = g.a + m * lda + k0;
            t.c = g.c + m * g.ldc + n0 + j;
            gemm_f32_f32_14x32_avx512(t);
          }
        }
      }
    }
  };
  run_items(exec, s.items, body);
}

// ------------------------------------------------------------------ int8

const char* qu8_groups_error(const int64_t* group_start, int64_t num_groups) {
  if (num_groups <= 0 || group_start == nullptr || group_start[0] != 0) return "no groups starting at row 0";
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t len = group_start[g + 1] - group_start[g];
    if (len <= 0 || len % 4 != 0) return "a group length is not a positive multiple of 4";
  }
  return nullptr;
}

namespace {

// End of the K step starting at group g0: whole groups, about `want` rows, at least one group.
int64_t step_end(const Qu8Gemm& g, int64_t g0, int64_t want) {
  int64_t g1 = g0 + 1;
  while (g1 < g.num_groups && g.group_start[g1 + 1] - g.group_start[g0] <= want) ++g1;
  return g1;
}

int64_t qu8_want(const Qu8Gemm& g) {
  return g.blocking.kc > 0 ? g.blocking.kc : g.tier == GemmTier::kAmx ? 1024 : 512;
}

// Largest rows / groups of any K step (sizes the decode buffers).
void qu8_step_max(const Qu8Gemm& g, int64_t* rows, int64_t* groups) {
  *rows = *groups = 0;
  for (int64_t g0 = 0; g0 < g.num_groups;) {
    const int64_t g1 = step_end(g, g0, qu8_want(g));
    *rows = std::max(*rows, g.group_start[g1] - g.group_start[g0]);
    *groups = std::max(*groups, g1 - g0);
    g0 = g1;
  }
}

// Row tiles over [m0, m1) for one 32-column panel (block-local column j) of one K step.
void qu8_rows(const Qu8Gemm& g, int64_t m0, int64_t m1, int64_t g0, int64_t g1, const int64_t* rel_start,
              const Qu8Block& blk, int64_t n0, int64_t j, bool first) {
  const int64_t lda = g.lda > 0 ? g.lda : g.group_start[g.num_groups];
  Qu8TileArgs t{};
  t.nr = std::min<int64_t>(kPanelCols, g.N - n0 - j);
  t.groups = g1 - g0;
  t.group_start = rel_start;
  t.lda = lda;
  t.ld_group_sum = g.num_groups;
  t.b = blk.data + (j / kPanelCols) * blk.panel_stride;
  t.w_scale = blk.scale + j;
  t.w_zero = blk.zero != nullptr ? blk.zero + j : nullptr;
  t.ws_ld = blk.ld;
  t.ldc = g.ldc;
  t.accumulate = g.accumulate || !first;
  const int64_t k0 = g.group_start[g0];
  auto set_rows = [&](int64_t m) {
    t.a = g.a + m * lda + k0;
    t.a_scale = g.a_scale + m;
    t.a_group_sum = g.a_group_sum != nullptr ? g.a_group_sum + m * g.num_groups + g0 : nullptr;
    t.c = g.c + m * g.ldc + n0 + j;
  };
  int64_t m = m0;
  if (g.tier == GemmTier::kAmx) {
    for (; m + 16 <= m1; m += t.mr) {
      t.mr = m + kAmxRows <= m1 ? kAmxRows : 16;
      set_rows(m);
      gemm_qu8_f32_qc8w_32x32_amx(t);
    }
  }
  const int64_t max_rows = t.groups == 1 ? kQu8OneGroupMaxRows : kQu8MaxRows;
  for (; m < m1; m += t.mr) {
    t.mr = std::min(max_rows, m1 - m);
    set_rows(m);
    gemm_qu8_f32_qc8w_6x32c4_avx512vnni(t);
  }
}

}  // namespace

size_t gemm_qu8_scratch_bytes(const Qu8Gemm& g, int threads) {
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 12, 256);
  int64_t rows, groups;
  qu8_step_max(g, &rows, &groups);
  const size_t per_item = slot_bytes(s.nc, rows, 1) + 2 * slot_bytes(s.nc, groups, 4) +
                          slot_bytes(groups + 1, 1, 8);
  return static_cast<size_t>(s.items) * per_item + kSlotAlign;
}

void gemm_qu8_f32(const Qu8Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = gemm_threads(exec);
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 12, 256);
  int64_t rows, groups;
  qu8_step_max(g, &rows, &groups);
  const size_t panel_bytes = slot_bytes(s.nc, rows, 1), param_bytes = slot_bytes(s.nc, groups, 4);
  const size_t per_item = panel_bytes + 2 * param_bytes + slot_bytes(groups + 1, 1, 8);
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(scratch), kSlotAlign));
  (void)scratch_bytes;  // sized by gemm_qu8_scratch_bytes for the same exec
  const int64_t blocks = s.nb * s.mb;
  auto body = [&](int64_t item) {
    char* slot = base + item * per_item;
    auto* buf = reinterpret_cast<uint8_t*>(slot);
    auto* sbuf = reinterpret_cast<float*>(slot + panel_bytes);
    auto* zbuf = reinterpret_cast<int32_t*>(slot + panel_bytes + param_bytes);
    auto* rel = reinterpret_cast<int64_t*>(slot + panel_bytes + 2 * param_bytes);
    for (int64_t blk = item * blocks / s.items; blk < (item + 1) * blocks / s.items; ++blk) {
      const int64_t n0 = (blk / s.mb) * s.nc, m0 = (blk % s.mb) * s.mc;
      const int64_t nc = std::min(s.nc, padded_cols(g.N) - n0), m1 = std::min(g.M, m0 + s.mc);
      for (int64_t g0 = 0; g0 < g.num_groups;) {
        const int64_t g1 = step_end(g, g0, qu8_want(g));
        for (int64_t i = g0; i <= g1; ++i) rel[i - g0] = g.group_start[i] - g.group_start[g0];
        const Qu8Block pb = g.b.get(g.b.ctx, n0, nc, g0, g1, buf, sbuf, zbuf);
        for (int64_t j = 0; j < nc; j += kPanelCols) qu8_rows(g, m0, m1, g0, g1, rel, pb, n0, j, g0 == 0);
        g0 = g1;
      }
    }
  };
  run_items(exec, s.items, body);
}

}  // namespace incq::inc_cpu::gemm
