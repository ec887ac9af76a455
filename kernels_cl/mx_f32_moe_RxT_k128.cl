// MX MoE projections (MXFP4 / MXFP8 / MXINT4; elem as mx_f32_gemm_RxT_k128.cl) for the shared MoE
// driver, laid out and tiled like fp8_f32_moe_RxT_k128.cl: experts back to back per projection
// (codes w_stride, scale bytes s_stride apart), one routing tile per work-group (grid dim 1),
// gate_up = 8 gate + 8 up rows with SiLU fused, down = 16 rows. Needs fp8_helpers.cl and
// mx_f32_gemm_RxT_k128.cl (mx_tile).
#pragma OPENCL FP_CONTRACT ON

#define MX_MOE_ARGS                                                                                              \
  __global const uchar *wa, __global const uchar *sa, __global const uchar *wb, __global const uchar *sb,      \
      ulong w_stride, ulong s_stride, int elem, int group, __global const uchar *x, ulong x_off, int x_dtype,   \
      __global const int *tiles, __global const int *sorted_pairs, __global const int *num_tiles, int top_k,   \
      __global float *out, int N, int K, int vec

inline void mx_moe_rows(const int R, const int half_rows, __global const uchar* wa, __global const uchar* sa,
                        __global const uchar* wb, __global const uchar* sb, int e, ulong w_stride, ulong s_stride,
                        int elem, int group, int n0, int N, int K, __global const uchar** wr, __global const uchar** sr) {
  const size_t row_bytes = elem == 1 ? (size_t)K : (size_t)K / 2;
  for (int r = 0; r < R; ++r) {
    const int second = r >= half_rows;
    const int n = min(n0 + (second ? r - half_rows : r), N - 1);
    wr[r] = (second ? wb : wa) + e * w_stride + (size_t)n * row_bytes;
    sr[r] = (second ? sb : sa) + e * s_stride + (size_t)n * (K / group);
  }
}

inline void mx_moe_gate_up(const int T, MX_MOE_ARGS, __local float* red, __local float* part, __local float* both) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 8;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  mx_moe_rows(16, 8, wa, sa, wb, sb, e, w_stride, s_stride, elem, group, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)(pair[t] / top_k) * K;
  const float sum = mx_tile(16, T, wr, sr, elem, group, 1.0f, x, xrow, x_dtype, K, vec, red, part);
  incq_moe_store_gate_up(T, lane, sum, both, pair, len, n0, N, out);
}

inline void mx_moe_down(const int T, MX_MOE_ARGS, __local float* red, __local float* part) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 16;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  mx_moe_rows(16, 16, wa, sa, wb, sb, e, w_stride, s_stride, elem, group, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)pair[t] * K;
  const float sum = mx_tile(16, T, wr, sr, elem, group, 1.0f, x, xrow, x_dtype, K, vec, red, part);
  incq_moe_store_down(T, lane, sum, pair, len, n0, N, out);
}

#define MX_MOE_PASS \
  wa, sa, wb, sb, w_stride, s_stride, elem, group, x, x_off, x_dtype, tiles, sorted_pairs, num_tiles, top_k, out, N, K, vec
#define MX_MOE_KERNELS(T)                                                                                            \
  __kernel __attribute__((reqd_work_group_size(MX_L, 1, 1))) void mx_f32_moe_gate_up_8x##T##_k128(MX_MOE_ARGS) { \
    __local float red[16 * T * (MX_L + 1)];                                                                          \
    __local float part[MX_L];                                                                                        \
    __local float both[16 * T];                                                                                      \
    mx_moe_gate_up(T, MX_MOE_PASS, red, part, both);                                                                 \
  }                                                                                                                  \
  __kernel __attribute__((reqd_work_group_size(MX_L, 1, 1))) void mx_f32_moe_down_16x##T##_k128(MX_MOE_ARGS) {    \
    __local float red[16 * T * (MX_L + 1)];                                                                          \
    __local float part[MX_L];                                                                                        \
    mx_moe_down(T, MX_MOE_PASS, red, part);                                                                          \
  }

MX_MOE_KERNELS(1)
MX_MOE_KERNELS(4)
