// Integer weight-only dot products on the device layout (identical to the GPTQ layout of DESIGN §4,
// every packing repacked into it at load):
//   qw     uint [ceil(K*B/32)][N]      32 consecutive k form a block of B word rows; code i of a
//                                      block sits at bit i*B of its B-word stream (3 bits straddle)
//   zeros  uint [G][ceil(N*B/32)]      stored zero codes along N, the same bit stream; the zero is
//                                      stored + zero_add (GPTQ v1 stores zero-1)
//   scales half [G][N]
//   gidx   int  [K] or absent           group of row k (act order); else k / group_size
// w = scale * (q - zero) is exact in f32 (an f16 scale times an integer below 2^9); products and sums
// accumulate in f32: per k-block as sum x*(q-z), scaled once per block when the block is inside one
// group, then across blocks and across the LY k-slices of the work-group (local-memory reduction).
//
// Work decomposition: a work-item owns 4 consecutive columns (a "quad") and up to R rows; the
// work-group is LX quads x LY k-slices; slice ly takes k-blocks ly, ly+LY, ... so neighbouring
// work-items read neighbouring 16-byte column quads of one word row (coalesced).

inline uint xpu_bits_at(const uint* words, const int bit, const int B) {
  const int w = bit >> 5, sh = bit & 31;
  uint v = words[w] >> sh;
  if (sh + B > 32) v |= words[w + 1] << (32 - sh);
  return v & ((1u << B) - 1u);
}

// Zero code (stored + zero_add) of column n in group g.
inline float xpu_zero_at(global const uint* zeros, const int zrow, const int g, const int n, const int B,
                         const int zero_add) {
  const int bit = n * B;
  global const uint* row = zeros + (size_t)g * (size_t)zrow;
  const int w = bit >> 5, sh = bit & 31;
  uint v = row[w] >> sh;
  if (sh + B > 32) v |= row[w + 1] << (32 - sh);
  return (float)((int)(v & ((1u << B) - 1u)) + zero_add);
}

// The B word rows of k-block kb for columns n0..n0+3 (zeros outside the matrix).
inline void xpu_load_block_words(global const uint* qw, const int N, const int rows_total, const int kb,
                                 const int n0, const int B, uint words[4][8]) {
  const bool full_quad = n0 + 3 < N;
  for (int w = 0; w < B; ++w) {
    const int row = kb * B + w;
    if (row < rows_total && full_quad) {
      const uint4 v = vload4(0, qw + (size_t)row * (size_t)N + (size_t)n0);
      words[0][w] = v.s0; words[1][w] = v.s1; words[2][w] = v.s2; words[3][w] = v.s3;
    } else {
      for (int j = 0; j < 4; ++j)
        words[j][w] = (row < rows_total && n0 + j < N) ? qw[(size_t)row * (size_t)N + (size_t)(n0 + j)] : 0u;
    }
  }
  for (int w = B; w < 8; ++w)
    for (int j = 0; j < 4; ++j) words[j][w] = 0u;
}

// Partial sums for R rows x 4 columns over this work-item's k-blocks, reduced over the work-group's
// LY slices. Input row r is element (row_in[r], k) at in[in_off + row_in[r]*K + k], stored as act_t
// (in_f32 == 0) or f32 (in_f32 == 1); row_in[r] < 0 marks an absent row. On return the work-items
// with get_local_id(1) == 0 hold the complete sums in acc[r][j]. Every work-item of the group must
// call it (it synchronises).
inline void int_wo_tile_acc(const int B, const int R, global const void* in, const uint in_off, const int in_f32,
                            const int* row_in, global const uint* qw, global const ushort* scales,
                            global const uint* zeros, global const int* gidx, const int has_gidx, const int N,
                            const int K, const int G, const int zero_add, const int n0, local float* red,
                            float acc[8][4]) {
  const int LX = get_local_size(0), LY = get_local_size(1);
  const int lx = get_local_id(0), ly = get_local_id(1);
  const int rows_total = (K * B + 31) / 32;
  const int zrow = (N * B + 31) / 32;
  const int nblocks = (K + 31) / 32;
  const int num_groups_one = (G >= K);
  const bool active = n0 < N;
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = 0.0f;
  // Blocks never straddle a group when groups are multiples of 32 (AutoRound's 32/64/128/-1).
  const bool block_uniform = !has_gidx && (num_groups_one || (G % 32) == 0);

  for (int kb = ly; active && kb < nblocks; kb += LY) {
    const int k0 = kb * 32;
    const int kn = min(32, K - k0);
    uint words[4][8];
    xpu_load_block_words(qw, N, rows_total, kb, n0, B, words);
    float xs[8][32];
    for (int r = 0; r < R; ++r) {
      if (row_in[r] < 0) {
        for (int i = 0; i < 32; ++i) xs[r][i] = 0.0f;
        continue;
      }
      const uint base = in_off + (uint)row_in[r] * (uint)K + (uint)k0;
      if (in_f32) {
        global const float* p = (global const float*)in;
        for (int i = 0; i < 32; ++i) xs[r][i] = i < kn ? p[base + i] : 0.0f;
      } else {
        global const act_t* p = (global const act_t*)in;
        for (int i = 0; i < 32; ++i) xs[r][i] = i < kn ? xpu_load_act(p, base + i) : 0.0f;
      }
    }
    if (block_uniform) {
      const int g = num_groups_one ? 0 : k0 / G;
      // q - z as as_float(0x4B000000 | q) - (2^23 + z): the OR places the code in the mantissa of
      // 2^23 (exact for codes below 2^23), so one FADD replaces an int-to-float conversion, which
      // runs at a fraction of the FMA rate on GPUs and would bound decode.
      float s[4], zf[4];
      for (int j = 0; j < 4; ++j) {
        const int n = min(n0 + j, N - 1);
        s[j] = vload_half((size_t)g * (size_t)N + (size_t)n, (global const half*)scales);
        zf[j] = 8388608.0f + xpu_zero_at(zeros, zrow, g, n, B, zero_add);
      }
      float part[8][4];
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < 4; ++j) part[r][j] = 0.0f;
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        for (int j = 0; j < 4; ++j) {
          const float d = as_float(0x4B000000u | xpu_bits_at(words[j], i * B, B)) - zf[j];
          for (int r = 0; r < R; ++r) part[r][j] = fma(xs[r][i], d, part[r][j]);
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = fma(s[j], part[r][j], acc[r][j]);
    } else {
      for (int i = 0; i < kn; ++i) {
        const int k = k0 + i;
        const int g = has_gidx ? gidx[k] : k / G;
        for (int j = 0; j < 4; ++j) {
          const int n = min(n0 + j, N - 1);
          const float s = vload_half((size_t)g * (size_t)N + (size_t)n, (global const half*)scales);
          const float w = s * ((float)xpu_bits_at(words[j], i * B, B) - xpu_zero_at(zeros, zrow, g, n, B, zero_add));
          for (int r = 0; r < R; ++r) acc[r][j] = fma(xs[r][i], w, acc[r][j]);
        }
      }
    }
  }
  // Reduce over the LY k-slices: slice 0 adds the others in a fixed order (deterministic).
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) red[((ly * R + r) * LX + lx) * 4 + j] = acc[r][j];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (ly == 0) {
    for (int s = 1; s < LY; ++s)
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] += red[((s * R + r) * LX + lx) * 4 + j];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}
