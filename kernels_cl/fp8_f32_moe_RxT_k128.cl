// FP8 MoE projections for the shared MoE driver (plugins/inc_xpu/src/moe): the experts' matrices
// of one projection lie back to back (codes w_stride bytes apart, scales s_stride bytes apart), and
// each work-group serves one routing tile (grid dim 1; tiles past *num_tiles leave at once) and one
// block of output rows (grid dim 0), with fp8_tile from fp8_f32_gemm_RxT_k128.cl.
//  gate_up: h[p, n] = silu(gate_e(x_t)[n]) * up_e(x_t)[n] for the tile's pairs p (token t = p / top_k);
//           8 gate rows and the same 8 up rows form one 16-row tile, so x is read once for both.
//  down:    ypair[p, n] = down_e(h_p)[n], 16 rows per work-group.
// x / h may be quantized activations (F32 scratch) or the layer's input. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define FP8_MOE_ARGS                                                                                            \
  __global const uchar *wa, __global const uchar *sa, __global const uchar *wb, __global const uchar *sb,     \
      ulong w_stride, ulong s_stride, int sc_dtype, int rows_per_scale, int cols_per_scale, int scale_cols,   \
      __global const uchar *x, ulong x_off, int x_dtype, __global const int *tiles,                          \
      __global const int *sorted_pairs, __global const int *num_tiles, int top_k, __global float *out, int N, \
      int K, int e5m2, int vec

// Rows r of the tile: r < half from (wa, sa), the rest from (wb, sb) at the same output row.
inline void fp8_moe_rows(const int R, const int half_rows, __global const uchar* wa, __global const uchar* sa,
                         __global const uchar* wb, __global const uchar* sb, int e, ulong w_stride, ulong s_stride,
                         int sc_dtype, int rows_per_scale, int scale_cols, int n0, int N, int K,
                         __global const uchar** wr, __global const uchar** sr) {
  for (int r = 0; r < R; ++r) {
    const int second = r >= half_rows;
    const int n = min(n0 + (second ? r - half_rows : r), N - 1);
    wr[r] = (second ? wb : wa) + e * w_stride + (size_t)n * K;
    sr[r] = (second ? sb : sa) + e * s_stride + (size_t)(n / rows_per_scale) * scale_cols * fp8_scale_width(sc_dtype);
  }
}

inline void fp8_moe_gate_up(const int T, FP8_MOE_ARGS, __local float* red, __local float* part, __local float* both) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 8;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  fp8_moe_rows(16, 8, wa, sa, wb, sb, e, w_stride, s_stride, sc_dtype, rows_per_scale, scale_cols, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)(pair[t] / top_k) * K;
  const float sum = fp8_tile(16, T, wr, sr, sc_dtype, cols_per_scale, x, xrow, x_dtype, K, e5m2, vec, red, part);
  incq_moe_store_gate_up(T, lane, sum, both, pair, len, n0, N, out);
}

inline void fp8_moe_down(const int T, FP8_MOE_ARGS, __local float* red, __local float* part) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 16;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  fp8_moe_rows(16, 16, wa, sa, wb, sb, e, w_stride, s_stride, sc_dtype, rows_per_scale, scale_cols, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)pair[t] * K;
  const float sum = fp8_tile(16, T, wr, sr, sc_dtype, cols_per_scale, x, xrow, x_dtype, K, e5m2, vec, red, part);
  incq_moe_store_down(T, lane, sum, pair, len, n0, N, out);
}

#define FP8_MOE_PASS                                                                                        \
  wa, sa, wb, sb, w_stride, s_stride, sc_dtype, rows_per_scale, cols_per_scale, scale_cols, x, x_off, x_dtype, \
      tiles, sorted_pairs, num_tiles, top_k, out, N, K, e5m2, vec
#define FP8_MOE_KERNELS(T)                                                                                  \
  __kernel __attribute__((reqd_work_group_size(FP8_L, 1, 1))) void fp8_f32_moe_gate_up_8x##T##_k128(      \
      FP8_MOE_ARGS) {                                                                                       \
    __local float red[16 * T * (FP8_L + 1)];                                                                \
    __local float part[FP8_L];                                                                              \
    __local float both[16 * T];                                                                             \
    fp8_moe_gate_up(T, FP8_MOE_PASS, red, part, both);                                                      \
  }                                                                                                         \
  __kernel __attribute__((reqd_work_group_size(FP8_L, 1, 1))) void fp8_f32_moe_down_16x##T##_k128(         \
      FP8_MOE_ARGS) {                                                                                       \
    __local float red[16 * T * (FP8_L + 1)];                                                                \
    __local float part[FP8_L];                                                                              \
    fp8_moe_down(T, FP8_MOE_PASS, red, part);                                                               \
  }

FP8_MOE_KERNELS(1)
FP8_MOE_KERNELS(4)
