// Integer weight-only MoE projections over the tiles moe_route.cl made: every expert's matrices
// are stored back to back in one buffer per projection (the layout of int_wo_tile_f32acc.cl), at
// a fixed stride per expert.
//   gate_up: h[p, :] = silu(x[t] . Wg_e) * (x[t] . Wu_e)   (f32, one launch for both)
//   down:    ypair[p, :] = h[p] . Wd_e                     (f32)
// Needs common_act_io.cl, int_wo_tile_f32acc.cl and moe_route.cl before it.


inline void int_wo_moe_tile_rows(global const int* sorted_pairs, global const int* tiles, const int tile,
                                 const int R, const int topk, const int by_token, int rows_in[8], int pair[8],
                                 int* expert) {
  *expert = tiles[3 * tile];
  const int begin = tiles[3 * tile + 1], len = tiles[3 * tile + 2];
  for (int r = 0; r < 8; ++r) {
    pair[r] = (r < R && r < len) ? sorted_pairs[begin + r] : -1;
    rows_in[r] = pair[r] < 0 ? -1 : (by_token ? pair[r] / topk : pair[r]);
  }
}

inline void int_wo_moe_gate_up_body(const int B, const int R, global const act_t* x, const uint x_off,
                                    global const int* sorted_pairs, global const int* tiles,
                                    global const int* num_tiles, const int topk, global const uint* qw_g,
                                    global const ushort* sc_g, global const uint* z_g, global const int* gi_g,
                                    global const uint* qw_u, global const ushort* sc_u, global const uint* z_u,
                                    global const int* gi_u, const int has_gidx, const uint qw_stride,
                                    const uint sc_stride, const uint z_stride, const uint gi_stride,
                                    global float* h, const int I, const int H, const int G, const int zero_add,
                                    local float* red) {
  const int tile = get_group_id(2);
  if (tile >= *num_tiles) return;  // the whole work-group leaves together
  int rows_in[8], pair[8], e;
  int_wo_moe_tile_rows(sorted_pairs, tiles, tile, R, topk, 1, rows_in, pair, &e);
  const int n0 = get_global_id(0) * 4;
  float g[8][4], u[8][4];
  int_wo_tile_acc(B, R, x, x_off, 0, rows_in, qw_g + e * qw_stride, sc_g + e * sc_stride, z_g + e * z_stride,
                  gi_g + e * gi_stride, has_gidx, I, H, G, zero_add, n0, red, g);
  int_wo_tile_acc(B, R, x, x_off, 0, rows_in, qw_u + e * qw_stride, sc_u + e * sc_stride, z_u + e * z_stride,
                  gi_u + e * gi_stride, has_gidx, I, H, G, zero_add, n0, red, u);
  if (get_local_id(1) != 0) return;
  for (int r = 0; r < R; ++r) {
    if (pair[r] < 0) continue;
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + j;
      if (n >= I) break;
      const float a = g[r][j];
      h[(size_t)pair[r] * (size_t)I + (size_t)n] = a / (1.0f + exp(-a)) * u[r][j];
    }
  }
}

inline void int_wo_moe_down_body(const int B, const int R, global const float* h, global const int* sorted_pairs,
                                 global const int* tiles, global const int* num_tiles, const int topk,
                                 global const uint* qw, global const ushort* sc, global const uint* z,
                                 global const int* gi, const int has_gidx, const uint qw_stride,
                                 const uint sc_stride, const uint z_stride, const uint gi_stride,
                                 global float* ypair, const int H, const int I, const int G, const int zero_add,
                                 local float* red) {
  const int tile = get_group_id(2);
  if (tile >= *num_tiles) return;
  int rows_in[8], pair[8], e;
  int_wo_moe_tile_rows(sorted_pairs, tiles, tile, R, topk, 0, rows_in, pair, &e);
  const int n0 = get_global_id(0) * 4;
  float acc[8][4];
  int_wo_tile_acc(B, R, h, 0, 1, rows_in, qw + e * qw_stride, sc + e * sc_stride, z + e * z_stride,
                  gi + e * gi_stride, has_gidx, H, I, G, zero_add, n0, red, acc);
  if (get_local_id(1) != 0) return;
  for (int r = 0; r < R; ++r) {
    if (pair[r] < 0) continue;
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + j;
      if (n >= H) break;
      ypair[(size_t)pair[r] * (size_t)H + (size_t)n] = acc[r][j];
    }
  }
}

#define INT_WO_MOE_KERNELS(BITS, ROWS)                                                                       \
  __kernel void int_wo_moe_gate_up_b##BITS##_r##ROWS(                                                       \
      global const act_t* x, uint x_off, global const int* sorted_pairs, global const int* tiles,           \
      global const int* num_tiles, int topk, global const uint* qw_g, global const ushort* sc_g,            \
      global const uint* z_g, global const int* gi_g, global const uint* qw_u, global const ushort* sc_u,   \
      global const uint* z_u, global const int* gi_u, int has_gidx, uint qw_stride, uint sc_stride,         \
      uint z_stride, uint gi_stride, global float* h, int I, int H, int G, int zero_add, local float* red) { \
    int_wo_moe_gate_up_body(BITS, ROWS, x, x_off, sorted_pairs, tiles, num_tiles, topk, qw_g, sc_g, z_g,    \
                            gi_g, qw_u, sc_u, z_u, gi_u, has_gidx, qw_stride, sc_stride, z_stride, gi_stride, \
                            h, I, H, G, zero_add, red);                                                     \
  }                                                                                                          \
  __kernel void int_wo_moe_down_b##BITS##_r##ROWS(                                                          \
      global const float* h, global const int* sorted_pairs, global const int* tiles,                       \
      global const int* num_tiles, int topk, global const uint* qw, global const ushort* sc,                \
      global const uint* z, global const int* gi, int has_gidx, uint qw_stride, uint sc_stride,             \
      uint z_stride, uint gi_stride, global float* ypair, int H, int I, int G, int zero_add,                \
      local float* red) {                                                                                    \
    int_wo_moe_down_body(BITS, ROWS, h, sorted_pairs, tiles, num_tiles, topk, qw, sc, z, gi, has_gidx,      \
                         qw_stride, sc_stride, z_stride, gi_stride, ypair, H, I, G, zero_add, red);         \
  }

// One bit width per program (-DINT_BITS=...): a layer builds only the kernels it runs.
#ifndef INT_BITS
#error "build with -DINT_BITS=2|3|4|8"
#endif
#define INT_WO_MOE_KERNELS_EXPAND(BITS, ROWS) INT_WO_MOE_KERNELS(BITS, ROWS)  /* expands INT_BITS before ## */
INT_WO_MOE_KERNELS_EXPAND(INT_BITS, 1)
INT_WO_MOE_KERNELS_EXPAND(INT_BITS, 8)
