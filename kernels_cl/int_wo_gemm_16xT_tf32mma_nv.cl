// Integer weight-only GEMM on NVIDIA tensor cores through inline PTX (NVIDIA's OpenCL compiler
// accepts PTX asm; other drivers never build this file — the plugin adds it only for NVIDIA
// devices, and falls back to the f32 FMA kernels when it does not build).
//
// mma.sync m16n8k8 with TF32 inputs and f32 accumulation: the activations must be exact in TF32
// (bf16 and f16 are: 8 resp. 11 significant bits, TF32 keeps 11; f32 activations never come here),
// and q - z is a small integer, exact too; products are exact and sums are f32, so the error
// contract is the FMA kernels'. Scales are applied per 32-row k-block (inside one group: only
// G % 32 == 0 without g_idx runs here).
//
// A warp owns 16 rows x 32 columns (4 n8 tiles) and the k-blocks kb = kb0 + warp, kb0 + warp + LY,
// ... of its work-group's K range; the work-group is LY warps over the same columns, reduced through
// local memory. Few row tiles (decode-like M) leave most SMs idle with one work-group per 32
// columns, so K is also split across work-groups (grid z = row tiles x splits) and finished in the
// same launch as in int_wo_gemv_Rx128_splitk.cl: partials, a per-tile arrival counter, the last
// work-group sums the splits in split order (deterministic), adds the bias and re-arms the counter.
// Lane l: g = l / 4, t = l % 4 (PTX ISA fragment layout of m16n8k8 .tf32: A a0 (g, t) a1 (g+8, t) a2 (g, t+4)
// a3 (g+8, t+4); B b0 (k t, n g) b1 (k t+4, n g); C c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1)).
// Needs common_act_io.cl and int_wo_tile_f32acc.cl before it.

inline void xpu_mma_tf32_16x8x8(float c[4], const uint a[4], const uint b0, const uint b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

inline float xpu_mma_x(global const act_t* x, const uint x_off, const int M, const int K, const int row, const int k) {
  return (row < M && k < K) ? xpu_load_act(x, x_off + (uint)row * (uint)K + (uint)k) : 0.0f;
}

inline void int_wo_gemm_16xT_tf32mma_body(const int B, global const act_t* x, const uint x_off, global const uint* qw,
                                          global const ushort* scales, global const uint* zeros,
                                          global const uchar* bias, const int bias_dtype, global act_t* y,
                                          const uint y_off, const int M, const int N, const int K, const int G,
                                          const int zero_add, const int splits, global float* partials,
                                          global uint* counters, local float* red) {
  const int lane = get_local_id(0), warp = get_local_id(1), LY = get_local_size(1);
  const int g8 = lane >> 2, t = lane & 3;
  const int ct = get_group_id(0), NT = get_num_groups(0);
  const int n_base = ct * 32;
  const int rt = get_group_id(2) / splits, split = get_group_id(2) - rt * splits;
  const int m0 = rt * 16;
  const int rows_total = (K * B + 31) / 32;
  const int zrow = (N * B + 31) / 32;
  const int nblocks = (K + 31) / 32;
  const int kb_per = (nblocks + splits - 1) / splits;
  const int kb0 = split * kb_per, kb1 = min(nblocks, kb0 + kb_per);
  const int one_group = G >= K;
  float acc[4][4];
  for (int nt = 0; nt < 4; ++nt)
    for (int i = 0; i < 4; ++i) acc[nt][i] = 0.0f;

#ifndef MMA_WORD_LOADS
  // Lane (g8, t) reads the four adjacent columns nc0 .. nc0+3 (nc0 = n_base + 4 g8; column
  // nc0 + nt is its B column of n tile nt) as one 16-byte load per word row, and takes code
  // positions 8t .. 8t+7 of each column's 32-code block (its k index t + 4h of k8 step s is block
  // position 8t + 2s + h; the A fragments use the same k permutation). One 16-byte load replaces
  // 4 x B four-byte loads that 4 lanes each repeated.
  const int nc0 = n_base + 4 * g8;
  const int bit0 = 8 * t * B, wrow0 = bit0 >> 5, sh0 = bit0 & 31;
  const bool two_rows = sh0 + 8 * B > 32;  // 3 and 8 bits: the lane's codes span two words
  const bool vec_cols = n_base + 32 <= N && (N & 3) == 0;  // whole, 16-byte aligned column quads
  for (int kb = kb0 + warp; kb < kb1; kb += LY) {
    const int k0 = kb * 32;
    const int grp = one_group ? 0 : k0 / G;
    uint a[4][4];
    for (int st = 0; st < 4; ++st) {
      const int k = k0 + 8 * t + 2 * st;
      a[st][0] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8, k));
      a[st][1] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8 + 8, k));
      a[st][2] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8, k + 1));
      a[st][3] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8 + 8, k + 1));
    }
    uint w0[4], w1[4];
    {
      const int r0 = kb * B + wrow0, r1 = r0 + 1;
      const bool whole = vec_cols && (kb + 1) * 32 <= K;
      if (whole) {
        const uint4 v0 = *(global const uint4*)(qw + (size_t)r0 * (size_t)N + (size_t)nc0);
        const uint4 v1 = two_rows ? *(global const uint4*)(qw + (size_t)r1 * (size_t)N + (size_t)nc0) : (uint4)(0u);
        w0[0] = v0.s0; w0[1] = v0.s1; w0[2] = v0.s2; w0[3] = v0.s3;
        w1[0] = v1.s0; w1[1] = v1.s1; w1[2] = v1.s2; w1[3] = v1.s3;
      } else {
        for (int nt = 0; nt < 4; ++nt) {
          const int n = nc0 + nt;
          w0[nt] = (r0 < rows_total && n < N) ? qw[(size_t)r0 * (size_t)N + (size_t)n] : 0u;
          w1[nt] = (two_rows && r1 < rows_total && n < N) ? qw[(size_t)r1 * (size_t)N + (size_t)n] : 0u;
        }
      }
    }
    float sc[2][4];  // scales of output columns n_base + 8t + 4h + nt
    for (int h = 0; h < 2; ++h)
      for (int nt = 0; nt < 4; ++nt)
        sc[h][nt] = vload_half((size_t)grp * (size_t)N + (size_t)min(n_base + 8 * t + 4 * h + nt, N - 1),
                               (global const half*)scales);
    for (int nt = 0; nt < 4; ++nt) {
      const float zf = 8388608.0f + xpu_zero_at(zeros, zrow, grp, min(nc0 + nt, N - 1), B, zero_add);
      // The lane's 8 codes, lowest first (past K they decode garbage times x = 0).
      const ulong chunk = (((ulong)w1[nt] << 32) | (ulong)w0[nt]) >> sh0;
      float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (int st = 0; st < 4; ++st) {
        const float v0 = as_float(0x4B000000u | ((uint)(chunk >> (2 * st * B)) & ((1u << B) - 1u))) - zf;
        const float v1 = as_float(0x4B000000u | ((uint)(chunk >> ((2 * st + 1) * B)) & ((1u << B) - 1u))) - zf;
        xpu_mma_tf32_16x8x8(c, a[st], as_uint(v0), as_uint(v1));
      }
      // c0/c2: tile column 2t = lane group 2t's column, i.e. n_base + 8t + nt; c1/c3: n_base + 8t + 4 + nt.
      acc[nt][0] = fma(sc[0][nt], c[0], acc[nt][0]);
      acc[nt][1] = fma(sc[1][nt], c[1], acc[nt][1]);
      acc[nt][2] = fma(sc[0][nt], c[2], acc[nt][2]);
      acc[nt][3] = fma(sc[1][nt], c[3], acc[nt][3]);
    }
  }
#else  // the first version: 4-byte loads of the tile's natural column order (diagnostic build option)
  for (int kb = kb0 + warp; kb < kb1; kb += LY) {
    const int k0 = kb * 32;
    const int grp = one_group ? 0 : k0 / G;
    // A fragments for the block's four k8 steps (shared by the four n tiles).
    uint a[4][4];
    for (int s = 0; s < 4; ++s) {
      const int k = k0 + 8 * s + t;
      a[s][0] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8, k));
      a[s][1] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8 + 8, k));
      a[s][2] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8, k + 4));
      a[s][3] = as_uint(xpu_mma_x(x, x_off, M, K, m0 + g8 + 8, k + 4));
    }
    for (int nt = 0; nt < 4; ++nt) {
      const int n = n_base + nt * 8 + g8;  // this lane's B column
      const int nc = min(n, N - 1);
      uint words[8];
      for (int w = 0; w < B; ++w) {
        const int row = kb * B + w;
        words[w] = (row < rows_total && n < N) ? qw[(size_t)row * (size_t)N + (size_t)n] : 0u;
      }
      for (int w = B; w < 8; ++w) words[w] = 0u;
      const float zf = 8388608.0f + xpu_zero_at(zeros, zrow, grp, nc, B, zero_add);
      float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (int s = 0; s < 4; ++s) {
        const int i0 = 8 * s + t;
        // k past the end reads code bits of zeroed words; x there is 0, so the product is 0.
        const float w0 = as_float(0x4B000000u | xpu_bits_at(words, i0 * B, B)) - zf;
        const float w1 = as_float(0x4B000000u | xpu_bits_at(words, (i0 + 4) * B, B)) - zf;
        xpu_mma_tf32_16x8x8(c, a[s], as_uint(w0), as_uint(w1));
      }
      // c0/c2 are column 2t of the tile, c1/c3 column 2t+1.
      const int col0 = min(n_base + nt * 8 + 2 * t, N - 1), col1 = min(n_base + nt * 8 + 2 * t + 1, N - 1);
      const float s0 = vload_half((size_t)grp * (size_t)N + (size_t)col0, (global const half*)scales);
      const float s1 = vload_half((size_t)grp * (size_t)N + (size_t)col1, (global const half*)scales);
      acc[nt][0] = fma(s0, c[0], acc[nt][0]);
      acc[nt][1] = fma(s1, c[1], acc[nt][1]);
      acc[nt][2] = fma(s0, c[2], acc[nt][2]);
      acc[nt][3] = fma(s1, c[3], acc[nt][3]);
    }
  }
#endif
  // Reduce over the LY warps in a fixed order: warp 0 adds the others.
  for (int nt = 0; nt < 4; ++nt)
    for (int i = 0; i < 4; ++i) red[((warp * 4 + nt) * 4 + i) * 32 + lane] = acc[nt][i];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (warp == 0)
    for (int w = 1; w < LY; ++w)
      for (int nt = 0; nt < 4; ++nt)
        for (int i = 0; i < 4; ++i) acc[nt][i] += red[((w * 4 + nt) * 4 + i) * 32 + lane];
  if (splits > 1) {
    global float* mine = partials + (size_t)(rt * NT + ct) * (size_t)splits * 512;
    if (warp == 0)
      for (int nt = 0; nt < 4; ++nt)
        for (int i = 0; i < 4; ++i) mine[(size_t)split * 512 + (size_t)((nt * 4 + i) * 32 + lane)] = acc[nt][i];
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    local int* last = (local int*)(red + LY * 512);
    if (warp == 0 && lane == 0) *last = atomic_inc(&counters[rt * NT + ct]) == (uint)(splits - 1);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!*last) return;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    if (warp == 0) {
      volatile global const float* all = (volatile global const float*)mine;
      for (int nt = 0; nt < 4; ++nt)
        for (int i = 0; i < 4; ++i) {
          float v = 0.0f;
          for (int sp = 0; sp < splits; ++sp) v += all[(size_t)sp * 512 + (size_t)((nt * 4 + i) * 32 + lane)];
          acc[nt][i] = v;
        }
      if (lane == 0) atomic_xchg(&counters[rt * NT + ct], 0u);
    }
  }
  if (warp != 0) return;
  for (int nt = 0; nt < 4; ++nt)
    for (int i = 0; i < 4; ++i) {
      const int row = m0 + g8 + (i >= 2 ? 8 : 0);
#ifndef MMA_WORD_LOADS
      const int col = n_base + 8 * t + 4 * (i & 1) + nt;
#else
      const int col = n_base + nt * 8 + 2 * t + (i & 1);
#endif
      if (row >= M || col >= N) continue;
      const float b = bias_dtype != 0 ? xpu_load_typed(bias, col, bias_dtype) : 0.0f;
      xpu_store_act(y, y_off + (uint)row * (uint)N + (uint)col, acc[nt][i] + b);
    }
}

#define INT_WO_GEMM_TF32MMA_KERNEL(BITS)                                                                     \
  __kernel void int_wo_gemm_16xT_tf32mma_nv_b##BITS(                                                        \
      global const act_t* x, uint x_off, global const uint* qw, global const ushort* scales,                  \
      global const uint* zeros, global const uchar* bias, int bias_dtype, global act_t* y, uint y_off, int M, \
      int N, int K, int G, int zero_add, int splits, global float* partials, global uint* counters,           \
      local float* red) {                                                                                    \
    int_wo_gemm_16xT_tf32mma_body(BITS, x, x_off, qw, scales, zeros, bias, bias_dtype, y, y_off, M, N, K, G,  \
                                  zero_add, splits, partials, counters, red);                               \
  }
#define INT_WO_GEMM_TF32MMA_KERNEL_EXPAND(BITS) INT_WO_GEMM_TF32MMA_KERNEL(BITS)
INT_WO_GEMM_TF32MMA_KERNEL_EXPAND(INT_BITS)
