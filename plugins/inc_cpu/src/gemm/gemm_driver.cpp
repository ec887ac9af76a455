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

Split make_split(int64_t M, int64_t N, int64_t nc_req, int threads, int64_t row_align) {
  const int64_t Np = padded_cols(N);
  int64_t nc = nc_req > 0 ? round_up(nc_req, kPanelCols) : 64;
  if (nc_req <= 0) {
    // Small N: narrower blocks so every thread has at least one.
    while (nc > kPanelCols && ceil_div(Np, nc) < threads) nc /= 2;
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

int gemm_threads(const incq_exec* exec) {
  const bool has_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  if (!has_pool) return 1;
  return std::clamp<int>(exec->max_threads, 1, kMaxThreads);
}

// ------------------------------------------------------------------ bf16

namespace {

int64_t bf16_kc(const Bf16Gemm& g) {
  const int64_t Kp = bf16_padded_k(g.K);
  const int64_t def = g.tier == GemmTier::kAmx ? 512 : 256;
  return std::min(Kp, g.blocking.kc > 0 ? round_up(g.blocking.kc, kBf16KAlign) : def);
}

// Row tiles over [m0, m1) for one panel of one K step.
void bf16_rows(const Bf16Gemm& g, int64_t m0, int64_t m1, int64_t lda, int64_t k0, int64_t kc,
               const uint16_t* panel, int64_t n0, bool acc) {
  Bf16TileArgs t{};
  t.nr = std::min<int64_t>(kPanelCols, g.N - n0);
  t.kc = kc;
  t.lda = lda;
  t.b = panel;
  t.ldc = g.ldc;
  t.accumulate = acc;
  int64_t m = m0;
  if (g.tier == GemmTier::kAmx) {
    for (; m + 16 <= m1; m += t.mr) {
      t.mr = m + kAmxRows <= m1 ? kAmxRows : 16;
      t.a = g.a + m * lda + k0;
      t.c = g.c + m * g.ldc + n0;
      gemm_bf16_f32_32x32_amx(t);
    }
  }
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

}  // namespace

size_t gemm_bf16_scratch_bytes(const Bf16Gemm& g, int threads) {
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 14);
  return static_cast<size_t>(s.items) * slot_bytes(s.nc, bf16_kc(g), 2) + kSlotAlign;
}

void gemm_bf16_f32(const Bf16Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = gemm_threads(exec);
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 14);
  const int64_t Kp = bf16_padded_k(g.K);
  const int64_t kc = bf16_kc(g);
  const size_t slot = slot_bytes(s.nc, kc, 2);
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(scratch), kSlotAlign));
  (void)scratch_bytes;  // sized by gemm_bf16_scratch_bytes for the same exec
  const int64_t blocks = s.nb * s.mb;
  auto body = [&](int64_t item) {
    auto* buf = reinterpret_cast<uint16_t*>(base + item * slot);
    for (int64_t blk = item * blocks / s.items; blk < (item + 1) * blocks / s.items; ++blk) {
      const int64_t n0 = (blk / s.mb) * s.nc, m0 = (blk % s.mb) * s.mc;
      const int64_t nc = std::min(s.nc, padded_cols(g.N) - n0), m1 = std::min(g.M, m0 + s.mc);
      for (int64_t k0 = 0; k0 < Kp; k0 += kc) {
        const int64_t kcur = std::min(kc, Kp - k0);
        const PanelBlock pb = g.b.get(g.b.ctx, n0, nc, k0, kcur, buf);
        for (int64_t j = 0; j < nc; j += kPanelCols) {
          const auto* panel = reinterpret_cast<const uint16_t*>(static_cast<const char*>(pb.data) +
                                                                (j / kPanelCols) * pb.panel_stride);
          bf16_rows(g, m0, m1, Kp, k0, kcur, panel, n0 + j, g.accumulate || k0 > 0);
        }
      }
    }
  };
  run_items(exec, s.items, body);
}

// ------------------------------------------------------------------ int8

int64_t s8_padded_k(int64_t K, int64_t group) {
  if (K <= 0) return 0;
  if (group <= 0 || group >= K) return round_up(K, kS8KAlign);
  if (K % group != 0 || group % 4 != 0) return 0;
  return K;
}

namespace {

bool one_group(const Qu8Gemm& g) { return g.group <= 0 || g.group >= g.K; }

int64_t qu8_kc(const Qu8Gemm& g) {
  const int64_t Kp = s8_padded_k(g.K, g.group);
  const int64_t want = g.blocking.kc > 0 ? g.blocking.kc : 512;
  if (one_group(g)) return std::min(Kp, round_up(want, kS8KAlign));
  return std::min(Kp, g.group * std::max<int64_t>(1, want / g.group));
}

void qu8_rows(const Qu8Gemm& g, int64_t m0, int64_t m1, int64_t lda, int64_t k0, int64_t kc,
              const int8_t* panel, int64_t n0, bool first) {
  const bool single = one_group(g);
  const int64_t groups = single ? 1 : g.K / g.group;
  Qu8TileArgs t{};
  t.nr = std::min<int64_t>(kPanelCols, g.N - n0);
  t.kc = kc;
  t.group = single ? kc : g.group;
  t.lda = lda;
  t.ld_group_sum = groups;
  t.b = panel;
  t.ws_group_stride = single ? 0 : g.ldws;
  const int64_t g0 = single ? 0 : k0 / g.group;
  t.w_scale = g.w_scale + g0 * g.ldws + n0;
  // Per channel, the zero term uses the whole row's sum: add it once, with the first K step.
  t.w_zero_scale = g.w_zero_scale == nullptr || (single && !first) ? nullptr : g.w_zero_scale + g0 * g.ldws + n0;
  t.comp = first ? g.comp + n0 : nullptr;
  t.ldc = g.ldc;
  t.accumulate = g.accumulate || !first;
  auto set_rows = [&](int64_t m) {
    t.a = g.a + m * lda + k0;
    t.a_scale = g.a_scale + m;
    t.a_group_sum = g.a_group_sum != nullptr ? g.a_group_sum + m * groups + g0 : nullptr;
    t.c = g.c + m * g.ldc + n0;
  };
  int64_t m = m0;
  if (g.tier == GemmTier::kAmx) {
    for (; m + 16 <= m1; m += t.mr) {
      t.mr = m + kAmxRows <= m1 ? kAmxRows : 16;
      set_rows(m);
      gemm_qu8_f32_qc8w_32x32_amx(t);
    }
  }
  const int64_t max_rows = t.group == kc ? kQu8OneGroupMaxRows : kQu8MaxRows;
  for (; m < m1; m += t.mr) {
    t.mr = std::min(max_rows, m1 - m);
    set_rows(m);
    gemm_qu8_f32_qc8w_6x32c4_avx512vnni(t);
  }
}

}  // namespace

size_t gemm_qu8_scratch_bytes(const Qu8Gemm& g, int threads) {
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 12);
  return static_cast<size_t>(s.items) * slot_bytes(s.nc, qu8_kc(g), 1) + kSlotAlign;
}

void gemm_qu8_f32(const Qu8Gemm& g, const incq_exec* exec, void* scratch, size_t scratch_bytes) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = gemm_threads(exec);
  const Split s = make_split(g.M, g.N, g.blocking.nc, threads, g.tier == GemmTier::kAmx ? 32 : 12);
  const int64_t Kp = s8_padded_k(g.K, g.group);
  const int64_t kc = qu8_kc(g);
  const size_t slot = slot_bytes(s.nc, kc, 1);
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(scratch), kSlotAlign));
  (void)scratch_bytes;
  const int64_t blocks = s.nb * s.mb;
  auto body = [&](int64_t item) {
    auto* buf = reinterpret_cast<int8_t*>(base + item * slot);
    for (int64_t blk = item * blocks / s.items; blk < (item + 1) * blocks / s.items; ++blk) {
      const int64_t n0 = (blk / s.mb) * s.nc, m0 = (blk % s.mb) * s.mc;
      const int64_t nc = std::min(s.nc, padded_cols(g.N) - n0), m1 = std::min(g.M, m0 + s.mc);
      for (int64_t k0 = 0; k0 < Kp; k0 += kc) {
        const int64_t kcur = std::min(kc, Kp - k0);
        const PanelBlock pb = g.b.get(g.b.ctx, n0, nc, k0, kcur, buf);
        for (int64_t j = 0; j < nc; j += kPanelCols) {
          const auto* panel = static_cast<const int8_t*>(pb.data) + (j / kPanelCols) * pb.panel_stride;
          qu8_rows(g, m0, m1, Kp, k0, kcur, panel, n0 + j, k0 == 0);
        }
      }
    }
  };
  run_items(exec, s.items, body);
}

void compute_shift_compensation(const int8_t* w, int64_t N, int64_t K, int64_t ldw, int64_t group,
                                const float* w_scale, int64_t ldws, float* comp) {
  const int64_t G = group <= 0 || group >= K ? K : group;
  for (int64_t n = 0; n < N; ++n) {
    double total = 0;
    for (int64_t g0 = 0; g0 < K; g0 += G) {
      int64_t sum = 0;
      for (int64_t k = g0; k < std::min(K, g0 + G); ++k) sum += w[n * ldw + k];
      total += double(w_scale[(g0 / G) * ldws + n]) * double(sum);
    }
    comp[n] = float(128.0 * total);
  }
}

}  // namespace incq::inc_cpu::gemm
