// W4A8 matmul: y[M, N] = s_x[m] * sum_g s_w[n, g] * sum_{k in g} q_x[m, k] * (q_w[n, k] - 8) + bias.
// q_x: int8 codes [M, K] with per-token scales s_x [M] (w4a8_quantize_act_q8). W: the GPTQ int4
// symmetric codes repacked at load into [N, K/2] bytes (two codes per byte along K, element 2j low)
// and the F16 scales into [N, K/G] (same bytes as the checkpoint). Integer products and sums are
// exact (int32); each 16-element step's sum is converted once and scaled in fp32.
// Integer dot products use the OpenCL 3.0 4x8-bit dot product (dp4a-style) when the device
// compiler offers it, plain integer multiply-adds otherwise.
// Tile as fp8_f32_gemm_8xT_k64.cl. The host guarantees K % 32 == 0, G % 32 == 0, and aligned rows.
// Kernels: w4a8_qd8_f32_qc4w_gemm_8x1_k64, w4a8_qd8_f32_qc4w_gemm_8x8_k64. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define W4A8_LWS 64
#define W4A8_ROWS 8
#define W4A8_RED_STRIDE (W4A8_LWS + 1)

// sum of 16 products of the signed 4-bit codes in p (low nibble first, stored + 8) and 16 int8 codes.
inline int w4a8_dot16(uint2 p, char16 xq) {
  const uint8 sh = (uint8)(0u, 4u, 8u, 12u, 16u, 20u, 24u, 28u);
  const int16 wq = convert_int16((uint16)(((uint8)p.x >> sh) & (uint8)0xFu, ((uint8)p.y >> sh) & (uint8)0xFu)) -
                   (int16)8;
#if defined(__opencl_c_integer_dot_product_input_4x8bit)
  const char16 wc = convert_char16(wq);
  return dot(wc.s0123, xq.s0123) + dot(wc.s4567, xq.s4567) + dot(wc.s89ab, xq.s89ab) + dot(wc.scdef, xq.scdef);
#else
  const int16 p16 = wq * convert_int16(xq);
  const int8 s8 = p16.lo + p16.hi;
  const int4 s4 = s8.lo + s8.hi;
  return (s4.x + s4.y) + (s4.z + s4.w);
#endif
}


inline void w4a8_gemm_tile(const int T, __global const uchar* w, __global const half* sw, int group,
                           __global const uchar* bias, int bias_dtype, __global const char* xq,
                           __global const float* xs, __global uchar* y, ulong y_off, int y_dtype, int M, int N,
                           int K, __local float* red) {
  const int lid = get_local_id(0);
  const int n0 = get_group_id(0) * W4A8_ROWS;
  const int m0 = get_group_id(1) * T;
  const int groups = K / group;
  float acc[8][W4A8_ROWS];
  size_t wrow[W4A8_ROWS];
  size_t srow[W4A8_ROWS];
  size_t xrow[8];
  for (int r = 0; r < W4A8_ROWS; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wrow[r] = (size_t)n * (K / 2);
    srow[r] = (size_t)n * groups;
  }
  for (int t = 0; t < T; ++t) {
    xrow[t] = (size_t)min(m0 + t, M - 1) * K;
    for (int r = 0; r < W4A8_ROWS; ++r) acc[t][r] = 0.0f;
  }
  for (int k = lid * 16; k < K; k += W4A8_LWS * 16) {
    char16 xv[8];
    for (int t = 0; t < T; ++t) xv[t] = *(__global const char16*)(xq + xrow[t] + k);
    const int kg = k / group;
    for (int r = 0; r < W4A8_ROWS; ++r) {
      const uint2 p = *(__global const uint2*)(w + wrow[r] + k / 2);
      const float s = vload_half(srow[r] + kg, sw);
      for (int t = 0; t < T; ++t) acc[t][r] += s * (float)w4a8_dot16(p, xv[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < W4A8_ROWS; ++r) red[(t * W4A8_ROWS + r) * W4A8_RED_STRIDE + lid] = acc[t][r];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid < T * W4A8_ROWS) {
    const int t = lid / W4A8_ROWS;
    const int r = lid % W4A8_ROWS;
    const int n = n0 + r;
    const int m = m0 + t;
    if (n < N && m < M) {
      float sum = 0.0f;
      for (int i = 0; i < W4A8_LWS; ++i) sum += red[lid * W4A8_RED_STRIDE + i];
      sum *= xs[m];
      if (bias_dtype != 0) sum += incq_load_f(bias, bias_dtype, n);
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, sum);
    }
  }
}

#define W4A8_GEMM_ARGS                                                                                  \
  __global const uchar *w, __global const half *sw, int group, __global const uchar *bias, int bias_dtype, \
      __global const char *xq, __global const float *xs, __global uchar *y, ulong y_off, int y_dtype, int M, \
      int N, int K
#define W4A8_GEMM_PASS w, sw, group, bias, bias_dtype, xq, xs, y, y_off, y_dtype, M, N, K

__kernel __attribute__((reqd_work_group_size(W4A8_LWS, 1, 1))) void w4a8_qd8_f32_qc4w_gemm_8x1_k64(W4A8_GEMM_ARGS) {
  __local float red[1 * W4A8_ROWS * W4A8_RED_STRIDE];
  w4a8_gemm_tile(1, W4A8_GEMM_PASS, red);
}

__kernel __attribute__((reqd_work_group_size(W4A8_LWS, 1, 1))) void w4a8_qd8_f32_qc4w_gemm_8x8_k64(W4A8_GEMM_ARGS) {
  __local float red[8 * W4A8_ROWS * W4A8_RED_STRIDE];
  w4a8_gemm_tile(8, W4A8_GEMM_PASS, red);
}
