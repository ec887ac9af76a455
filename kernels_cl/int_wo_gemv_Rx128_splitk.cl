// Integer weight-only GEMV / skinny GEMM for M <= 16 rows, split along K across work-groups and
// finished in the same launch. Serves 2/4/8-bit codes (a word holds whole codes), groups that are
// multiples of the 32-row k-block or one group, no g_idx, N % 4 == 0; everything else takes
// int_wo_linear.cl. Device layout: see int_wo_tile_f32acc.cl (qw [ceil(K*B/32)][N]).
//
// Decomposition: a work-group is W warps over one 128-column tile and one K range of kb_per_wg
// k-blocks (32 k each); lane l of every warp owns columns 4l..4l+3 of the tile and reads them as
// one 16-byte uint4 per word row, so a warp reads 512 contiguous bytes per row. Warp w takes the
// k-blocks kb0 + w*U, kb0 + (W+w)*U, ... in runs of U blocks whose GV_UROWS word rows are loaded
// before any is decoded (independent loads in flight). Grid: (NT tiles * 32W, splits, row tiles).
//
// Decode, per 16-bit half of a word: code j of the half is masked in place and ORed into the
// mantissa of 2^23, as_float((v & (mask << B*j)) | 0x4B000000) = 2^23 + q * 2^(B*j) exactly
// (bits 0..15 stay below the exponent); subtracting zc[j] = 2^23 + z * 2^(B*j) gives
// (q - z) * 2^(B*j) exactly, and the activation staged for that k is pre-multiplied by 2^-(B*j)
// (an exact power-of-two scaling), so each code costs one LOP3-able and/or, one FADD and one FMA.
// The upper half is shifted down once per word. Products x*(q-z) are exact, sums are f32: the
// error contract of int_wo_tile_f32acc.cl.
//
// Split-K finish: with splits > 1 each work-group writes its [R][128] partial to `partials`,
// fences, and bumps the tile's counter; the work-group that arrives last sums the partials of all
// splits in split order (deterministic whatever the arrival order), adds the bias, writes y and
// re-arms the counter to 0 for the next launch. The counters and partials belong to the in-order
// queue (Session's split-K scratch); launches on it never overlap.
// Needs common_act_io.cl before it.

#if INT_BITS == 2 || INT_BITS == 4 || INT_BITS == 8
#ifdef GV_SAFE  // scalar local and f16 loads, vload4 for the weights (diagnostic build option)
#define GV_LOCAL_SCALAR
#define GV_GLOBAL_VLOAD
#define GV_SCALE_SCALAR
#endif
#define GV_B INT_BITS
#define GV_CPH (16 / GV_B)  // codes per 16-bit half word
#define GV_CPW (32 / GV_B)  // codes per word
#define GV_MASK ((1u << GV_B) - 1u)

// 2^-(B * (k % CPH)): the factor the staged activation of row k carries (exact, a normal float).
inline float gv_prescale(const int k) { return as_float((uint)(127 - GV_B * (k % GV_CPH)) << 23); }

// Scales and zero constants of group g for columns n0..n0+3.
inline void gv_group_consts(global const ushort* scales, global const uint* zeros, const int g, const int n0,
                            const int N, const int zero_add, float s[4], float zc[4][GV_CPH]) {
#ifdef GV_SCALE_SCALAR
  for (int c = 0; c < 4; ++c) s[c] = vload_half((size_t)g * (size_t)N + (size_t)(n0 + c), (global const half*)scales);
#else
  const float4 s4 = vload_half4(0, (global const half*)scales + (size_t)g * (size_t)N + (size_t)n0);
  s[0] = s4.s0; s[1] = s4.s1; s[2] = s4.s2; s[3] = s4.s3;
#endif
  const int zrow = (N * GV_B + 31) / 32;
  global const uint* zr = zeros + (size_t)g * (size_t)zrow;
  for (int c = 0; c < 4; ++c) {
    const int bit = (n0 + c) * GV_B;  // B divides 32: a code never straddles words
    const float z = (float)((int)((zr[bit >> 5] >> (bit & 31)) & GV_MASK) + zero_add);
    for (int j = 0; j < GV_CPH; ++j) zc[c][j] = 8388608.0f + z * (float)(1u << (GV_B * j));
  }
}

// Full-tile fast path: every lane owns a whole column quad, the work-group's K range is whole
// k-blocks inside K, and every run of UBLK blocks lies in one group. Then no load needs a bounds
// check: each lane walks one base pointer by the constant row stride N/4 (uint4 units) and by a
// constant run stride, the staged activations by a constant local stride, and the group constants
// are reloaded once per run. The decode is the general path's (one and/or per code, see above);
// what goes is the per-load compare and 64-bit row multiply, the per-block group division and the
// early-exit branch inside the unrolled run (they cost ~3 integer ops per code on the H100).
inline void int_wo_gemv_full_tiles(const int R, const int UROWS, global const uint4* qw4, const size_t N4,
                                   global const ushort* scales, global const uint* zeros, const int n0, const int N,
                                   const int G, const int zero_add, const int one_group, const int kb0, const int kb1,
                                   const int kb_first, const int kb_step, const int kcap, const local float4* xs4,
                                   const uint magic, uint4 wv[16], float acc[16][4]) {
  const int UBLK = UROWS / GV_B;
  if (kb_first >= kb1) return;  // more warps than runs: this one has none
  global const uint4* p = qw4 + (size_t)(kb_first * GV_B) * N4;
  const size_t run_step = (size_t)(kb_step * GV_B) * N4;
  const local float4* xp = xs4 + (kb_first - kb0) * 8;  // 32 staged floats per k-block
  const int xstep = kb_step * 8, xrow = kcap / 4;
  float s[4], zc[4][GV_CPH], part[4];
  for (int kb = kb_first; kb < kb1; kb += kb_step) {
    gv_group_consts(scales, zeros, one_group ? 0 : (kb * 32) / G, n0, N, zero_add, s, zc);
    // The last run re-reads its own rows instead of testing every load (they hit in cache).
    global const uint4* q = kb + kb_step < kb1 ? p + run_step : p;
    p = q;
#pragma unroll
    for (int ub = 0; ub < UBLK; ++ub) {
      for (int c = 0; c < 4; ++c) part[c] = 0.0f;
#pragma unroll
      for (int wr = 0; wr < GV_B; ++wr, q += N4) {
        const uint4 w4 = wv[ub * GV_B + wr];
        wv[ub * GV_B + wr] = *q;
        const uint wc[4] = {w4.s0, w4.s1, w4.s2, w4.s3};
        float d[4][GV_CPW];
        for (int c = 0; c < 4; ++c)
          for (int h = 0; h < 2; ++h) {
            const uint v = h ? (wc[c] >> 16) : wc[c];
            for (int j = 0; j < GV_CPH; ++j)
              d[c][h * GV_CPH + j] = as_float((v & (GV_MASK << (GV_B * j))) | magic) - zc[c][j];
          }
        if (R > 1)
          for (int c = 0; c < 4; ++c)
            for (int i = 0; i < GV_CPW; ++i) d[c][i] *= s[c];
        for (int r = 0; r < R; ++r) {
          float xw[GV_CPW];
          for (int t = 0; t < GV_CPW / 4; ++t) {
            const float4 v4 = xp[r * xrow + ub * 8 + wr * (GV_CPW / 4) + t];
            xw[4 * t] = v4.s0; xw[4 * t + 1] = v4.s1; xw[4 * t + 2] = v4.s2; xw[4 * t + 3] = v4.s3;
          }
          for (int c = 0; c < 4; ++c)
            for (int i = 0; i < GV_CPW; ++i) {
              if (R == 1) part[c] = fma(xw[i], d[c][i], part[c]);
              else acc[r][c] = fma(xw[i], d[c][i], acc[r][c]);
            }
        }
      }
      if (R == 1)
        for (int c = 0; c < 4; ++c) acc[0][c] = fma(s[c], part[c], acc[0][c]);
    }
    xp += xstep;
  }
}

inline void int_wo_gemv_body(const int R, const int UROWS, global const act_t* x, const uint x_off,
                             global const uint* qw, global const ushort* scales, global const uint* zeros,
                             global const uchar* bias, const int bias_dtype, global act_t* y, const uint y_off,
                             const int M, const int N, const int K, const int G, const int zero_add,
                             const int kb_per_wg, global float* partials, global uint* counters, local float4* lmem4) {
  local float* lmem = (local float*)lmem4;  // typed float4 at the kernel boundary: 16-byte aligned
  const int UBLK = UROWS / GV_B;  // k-blocks per run
  const int lid = get_local_id(0), NTH = get_local_size(0), W = NTH >> 5;
  const int warp = lid >> 5, lane = lid & 31;
  const int ct = get_group_id(0), split = get_group_id(1), rt = get_group_id(2);
  const int NT = get_num_groups(0), splits = get_num_groups(1);
  const int n0 = ct * 128 + lane * 4;
  const int m0 = rt * R;
  const int nblocks = (K + 31) / 32;
  const int kb0 = split * kb_per_wg, kb1 = min(kb0 + kb_per_wg, nblocks);
  const int kcap = kb_per_wg * 32;
  global const uint4* qw4 = (global const uint4*)qw + (n0 >> 2);
  const size_t N4 = (size_t)(N >> 2);
  const int one_group = G >= K;
  const int kb_first = kb0 + warp * UBLK, kb_step = W * UBLK;
#ifndef GV_NO_FAST
  // Full-tile fast path, uniform over the work-group: whole tile, whole k-blocks, whole runs, one
  // group per run. Its first run's weight rows are requested before the activations are staged, so
  // the two memory latencies overlap (a work-group only has a few runs per warp).
  const bool full = (ct + 1) * 128 <= N && kb1 - kb0 == kb_per_wg && kb1 * 32 <= K && kb_per_wg % UBLK == 0 &&
                    (one_group || G % (32 * UBLK) == 0);
  uint4 wv0[16];
  if (full && kb_first < kb1) {
    global const uint4* q = qw4 + (size_t)(kb_first * GV_B) * N4;
#pragma unroll
    for (int u = 0; u < UROWS; ++u, q += N4) wv0[u] = *q;
  }
#endif

  // Stage this work-group's activations once, pre-scaled per code position (shared by all lanes).
  for (int i = lid; i < R * kcap; i += NTH) {
    const int r = i / kcap, kk = i - r * kcap, k = kb0 * 32 + kk, m = m0 + r;
    lmem[i] = (m < M && k < K) ? xpu_load_act(x, x_off + (uint)m * (uint)K + (uint)k) * gv_prescale(k) : 0.0f;
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  // One row: per-block partial sums scaled once per block (fewer multiplies). Several rows: the
  // scale goes into the decoded weight ((q - z) * s is exact: a small integer times an f16), so
  // each row needs one accumulator set only.
  float acc[16][4], part[4];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = 0.0f;
  const bool active = n0 < N;  // N % 4 == 0: an active lane owns a full quad
  const int rows_total = (K * GV_B + 31) / 32;
  const int row_end = min(kb1 * GV_B, rows_total);
  const local float4* xs4 = lmem4;
#ifdef GV_GLOBAL_VLOAD
#define GV_LOAD_ROW(row) ((row) < row_end ? vload4(0, qw + (size_t)(row) * (size_t)N + (size_t)n0) : (uint4)(0u))
#else
#define GV_LOAD_ROW(row) ((row) < row_end ? qw4[(size_t)(row) * N4] : (uint4)(0u))
#endif
  // 2^23's bits from a value the compiler cannot fold (zero_add is 0 or 1): with both the mask and
  // this as immediates it emits two LOP3s per code (seen in the H100 SASS); one must be a register.
  const uint magic = 0x4B000000u | ((uint)zero_add >> 31);
  int cur_g = -1;
  float s[4], zc[4][GV_CPH];

#ifndef GV_NO_FAST
  if (full) {
    int_wo_gemv_full_tiles(R, UROWS, qw4, N4, scales, zeros, n0, N, G, zero_add, one_group, kb0, kb1, kb_first,
                           kb_step, kcap, xs4, magic, wv0, acc);
  } else
#endif
  {
  // Rotating prefetch: word row u of the next run is requested as soon as row u of this run is
  // taken, so UROWS loads stay in flight while the current rows are decoded (here and in the
  // fast path).
  uint4 wv[16];
#pragma unroll
  for (int u = 0; u < UROWS; ++u) wv[u] = active ? GV_LOAD_ROW(kb_first * GV_B + u) : (uint4)(0u);
  for (int kb = kb_first; active && kb < kb1; kb += kb_step) {
    const int next_row0 = (kb + kb_step) * GV_B;
#pragma unroll
    for (int ub = 0; ub < UBLK; ++ub) {
      const int b = kb + ub;
      if (b >= kb1) break;
      const int g = one_group ? 0 : (b * 32) / G;
      if (g != cur_g) {
        cur_g = g;
        gv_group_consts(scales, zeros, g, n0, N, zero_add, s, zc);
      }
      for (int c = 0; c < 4; ++c) part[c] = 0.0f;
#pragma unroll
      for (int wr = 0; wr < GV_B; ++wr) {
        const uint4 w4 = wv[ub * GV_B + wr];
#ifndef GV_NO_PIPE
        wv[ub * GV_B + wr] = GV_LOAD_ROW(next_row0 + ub * GV_B + wr);
#endif
        const uint wc[4] = {w4.s0, w4.s1, w4.s2, w4.s3};
        float d[4][GV_CPW];
        for (int c = 0; c < 4; ++c)
          for (int h = 0; h < 2; ++h) {
            const uint v = h ? (wc[c] >> 16) : wc[c];
            for (int j = 0; j < GV_CPH; ++j)
              d[c][h * GV_CPH + j] = as_float((v & (GV_MASK << (GV_B * j))) | magic) - zc[c][j];
          }
        if (R > 1)
          for (int c = 0; c < 4; ++c)
            for (int i = 0; i < GV_CPW; ++i) d[c][i] *= s[c];
        const int kl = (b - kb0) * 32 + wr * GV_CPW;  // local k of the word's first code
        for (int r = 0; r < R; ++r) {
          float xw[GV_CPW];
#ifdef GV_LOCAL_SCALAR
          for (int i = 0; i < GV_CPW; ++i) xw[i] = lmem[r * kcap + kl + i];
#else
          for (int q = 0; q < GV_CPW / 4; ++q) {
            const float4 t = xs4[(r * kcap + kl) / 4 + q];
            xw[4 * q] = t.s0; xw[4 * q + 1] = t.s1; xw[4 * q + 2] = t.s2; xw[4 * q + 3] = t.s3;
          }
#endif
          for (int c = 0; c < 4; ++c)
            for (int i = 0; i < GV_CPW; ++i) {
              if (R == 1) part[c] = fma(xw[i], d[c][i], part[c]);
              else acc[r][c] = fma(xw[i], d[c][i], acc[r][c]);
            }
        }
      }
      if (R == 1)
        for (int c = 0; c < 4; ++c) acc[0][c] = fma(s[c], part[c], acc[0][c]);
    }
#ifdef GV_NO_PIPE
#pragma unroll
    for (int u = 0; u < UROWS; ++u) wv[u] = GV_LOAD_ROW(next_row0 + u);
#endif
  }
  }

  // Reduce the W warps through local memory (the staged activations are dead), every work-item
  // summing a share of the R*128 outputs in warp order.
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) lmem[(warp * R + r) * 128 + lane * 4 + c] = acc[r][c];
  barrier(CLK_LOCAL_MEM_FENCE);
  global float* mine = partials + (size_t)(rt * NT + ct) * (size_t)splits * (size_t)(R * 128);
  for (int o = lid; o < R * 128; o += NTH) {
    float v = 0.0f;
    for (int w = 0; w < W; ++w) v += lmem[w * R * 128 + o];
    const int r = o / 128, n = ct * 128 + (o & 127), m = m0 + r;
    if (splits > 1) {
      mine[(size_t)split * (size_t)(R * 128) + (size_t)o] = v;
    } else if (m < M && n < N) {
      const float bv = bias_dtype != 0 ? xpu_load_typed(bias, n, bias_dtype) : 0.0f;
      xpu_store_act(y, y_off + (uint)m * (uint)N + (uint)n, v + bv);
    }
  }
  if (splits == 1) return;
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
  local int* last = (local int*)(lmem + W * R * 128);
  if (lid == 0) *last = atomic_inc(&counters[rt * NT + ct]) == (uint)(splits - 1);
  barrier(CLK_LOCAL_MEM_FENCE);
  if (!*last) return;
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  // Partials written by other work-groups: read past any non-coherent cache.
  volatile global const float* all = (volatile global const float*)mine;
  for (int o = lid; o < R * 128; o += NTH) {
    const int r = o / 128, n = ct * 128 + (o & 127), m = m0 + r;
    if (m >= M || n >= N) continue;
    float v = 0.0f;
    for (int sp = 0; sp < splits; ++sp) v += all[(size_t)sp * (size_t)(R * 128) + (size_t)o];
    const float bv = bias_dtype != 0 ? xpu_load_typed(bias, n, bias_dtype) : 0.0f;
    xpu_store_act(y, y_off + (uint)m * (uint)N + (uint)n, v + bv);
  }
  if (lid == 0) atomic_xchg(&counters[rt * NT + ct], 0u);
}

#define INT_WO_GEMV_KERNEL(BITS, R, UROWS)                                                                    \
  __kernel void int_wo_gemv_b##BITS##_r##R##x128_splitk(                                                      \
      global const act_t* x, uint x_off, global const uint* qw, global const ushort* scales,                   \
      global const uint* zeros, global const uchar* bias, int bias_dtype, global act_t* y, uint y_off, int M,  \
      int N, int K, int G, int zero_add, int kb_per_wg, global float* partials, global uint* counters,        \
      local float4* lmem) {                                                                                   \
    int_wo_gemv_body(R, UROWS, x, x_off, qw, scales, zeros, bias, bias_dtype, y, y_off, M, N, K, G, zero_add, \
                     kb_per_wg, partials, counters, lmem);                                                    \
  }
#define INT_WO_GEMV_KERNEL_EXPAND(BITS, R, UROWS) INT_WO_GEMV_KERNEL(BITS, R, UROWS)
// Word rows in flight per lane: GV_UROWS1 for 1 and 4 rows, 8 for 16 rows.
#ifndef GV_UROWS1  // 8: on the H100 16 rows in flight cost 160 registers and were 1.1x slower
#define GV_UROWS1 8
#endif
INT_WO_GEMV_KERNEL_EXPAND(INT_BITS, 1, GV_UROWS1)
INT_WO_GEMV_KERNEL_EXPAND(INT_BITS, 4, GV_UROWS1)
INT_WO_GEMV_KERNEL_EXPAND(INT_BITS, 16, 8)
#endif
