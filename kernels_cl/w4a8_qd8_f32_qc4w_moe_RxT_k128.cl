// W4A8 MoE projections for the shared MoE driver, laid out and tiled like fp8_f32_moe_RxT_k128.cl:
// experts' [N, K/2] codes and [N, K/G] F16 scales back to back per projection (w_stride /
// s_stride bytes apart). Inputs are int8 rows with one scale each: per token for gate_up (xq row
// p / top_k), per routed pair for down (the quantized intermediate h). gate_up = 8 gate + 8 up rows
// with SiLU fused, down = 16 rows. Needs fp8_helpers.cl and w4a8_qd8_f32_qc4w_gemm_RxT_k128.cl.
#pragma OPENCL FP_CONTRACT ON

#define W4A8_MOE_ARGS                                                                                            \
  __global const uchar *wa, __global const uchar *sa, __global const uchar *wb, __global const uchar *sb,      \
      ulong w_stride, ulong s_stride, int group, __global const uchar *xq, __global const float *xs,           \
      __global const int *tiles, __global const int *sorted_pairs, __global const int *num_tiles, int top_k,   \
      __global float *out, int N, int K

inline void w4a8_moe_rows(const int R, const int half_rows, __global const uchar* wa, __global const uchar* sa,
                          __global const uchar* wb, __global const uchar* sb, int e, ulong w_stride, ulong s_stride,
                          int group, int n0, int N, int K, __global const uchar** wr, __global const half** sr) {
  for (int r = 0; r < R; ++r) {
    const int second = r >= half_rows;
    const int n = min(n0 + (second ? r - half_rows : r), N - 1);
    wr[r] = (second ? wb : wa) + e * w_stride + (size_t)n * (K / 2);
    sr[r] = (__global const half*)((second ? sb : sa) + e * s_stride) + (size_t)n * (K / group);
  }
}

inline void w4a8_moe_gate_up(const int T, W4A8_MOE_ARGS, __local float* red, __local float* part,
                             __local float* both) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 8;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const half* sr[16];
  size_t xrow[8];
  w4a8_moe_rows(16, 8, wa, sa, wb, sb, e, w_stride, s_stride, group, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = (size_t)(pair[t] / top_k) * K;
  const float sum = w4a8_tile(16, T, wr, sr, group, xq, xrow, K, red, part);
  // Each pair's token scale (lanes past the tile hold no row).
  const float v = lane < 16 * T ? sum * xs[pair[lane / 16] / top_k] : 0.0f;
  incq_moe_store_gate_up(T, lane, v, both, pair, len, n0, N, out);
}

inline void w4a8_moe_down(const int T, W4A8_MOE_ARGS, __local float* red, __local float* part) {
  if ((int)get_group_id(1) >= *num_tiles) return;
  const int lane = get_local_id(0);
  const int n0 = get_group_id(0) * 16;
  int pair[8], len;
  const int e = incq_moe_tile(tiles, sorted_pairs, get_group_id(1), T, pair, &len);
  __global const uchar* wr[16];
  __global const half* sr[16];
  size_t xrow[8];
  w4a8_moe_rows(16, 16, wa, sa, wb, sb, e, w_stride, s_stride, group, n0, N, K, wr, sr);
  for (int t = 0; t < T; ++t) xrow[t] = (size_t)pair[t] * K;
  const float sum = w4a8_tile(16, T, wr, sr, group, xq, xrow, K, red, part);
  const float v = lane < 16 * T ? sum * xs[pair[lane / 16]] : 0.0f;
  incq_moe_store_down(T, lane, v, pair, len, n0, N, out);
}

#define W4A8_MOE_PASS wa, sa, wb, sb, w_stride, s_stride, group, xq, xs, tiles, sorted_pairs, num_tiles, top_k, out, N, K
#define W4A8_MOE_KERNELS(T)                                                                                  \
  __kernel __attribute__((reqd_work_group_size(W4A8_L, 1, 1))) void                                          \
      w4a8_qd8_f32_qc4w_moe_gate_up_8x##T##_k128(W4A8_MOE_ARGS) {                                            \
    __local float red[16 * T * (W4A8_L + 1)];                                                                \
    __local float part[W4A8_L];                                                                              \
    __local float both[16 * T];                                                                              \
    w4a8_moe_gate_up(T, W4A8_MOE_PASS, red, part, both);                                                     \
  }                                                                                                          \
  __kernel __attribute__((reqd_work_group_size(W4A8_L, 1, 1))) void w4a8_qd8_f32_qc4w_moe_down_16x##T##_k128( \
      W4A8_MOE_ARGS) {                                                                                       \
    __local float red[16 * T * (W4A8_L + 1)];                                                                \
    __local float part[W4A8_L];                                                                              \
    w4a8_moe_down(T, W4A8_MOE_PASS, red, part);                                                              \
  }

W4A8_MOE_KERNELS(1)
W4A8_MOE_KERNELS(4)
