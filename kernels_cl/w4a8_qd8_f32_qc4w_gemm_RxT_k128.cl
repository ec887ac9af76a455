// W4A8 matmul: y[M, N] = s_x[m] * sum_g s_w[n, g] * sum_{k in g} q_x[m, k] * (q_w[n, k] - 8) + bias.
// q_x: int8 codes [M, K] with per-token scales s_x [M] (w4a8_quantize_act_q8). W: the GPTQ int4
// symmetric codes repacked at load into [N, K/2] bytes (two codes per byte along K, element 2j low)
// and the F16 scales into [N, K/G] (the checkpoint's bytes, transposed). Products of four codes are
// summed exactly in int32, converted once and scaled in fp32.
// Integer dot products: the OpenCL 3.0 4x8-bit dot product (dp4a-style) when the device compiler
// offers it, plain integer multiply-adds otherwise.
// Tile as fp8_f32_gemm_RxT_k128.cl: 128 lanes split K reading 8 bytes (16 codes) of each of R rows
// and 16 int8 activations of each of T tokens per step. The host guarantees K % 32 == 0 and
// G % 32 == 0 (a step never straddles a group).
// Kernels w4a8_qd8_f32_qc4w_gemm_{R}x{T}_k128: 16x1, 16x4, 8x8. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define W4A8_L 128

#if defined(__opencl_c_integer_dot_product_input_4x8bit)
typedef char4 w4a8_wvec;
inline w4a8_wvec w4a8_unpack4(uint v) {
  return convert_char4(as_int4((uint4)(v, v >> 4, v >> 8, v >> 12) & (uint4)0xFu) - (int4)8);
}
inline int w4a8_dot4(w4a8_wvec w, uint x) { return dot(w, as_char4(x)); }
#else
typedef int4 w4a8_wvec;
inline w4a8_wvec w4a8_unpack4(uint v) { return as_int4((uint4)(v, v >> 4, v >> 8, v >> 12) & (uint4)0xFu) - (int4)8; }
inline int w4a8_dot4(w4a8_wvec w, uint x) {
  const int4 p = w * convert_int4(as_char4(x));
  return (p.x + p.y) + (p.z + p.w);
}
#endif

inline void w4a8_gemm_tile(const int R, const int T, __global const uchar* w, __global const half* sw, int group,
                           __global const uchar* bias, int bias_dtype, __global const uchar* xq,
                           __global const float* xs, __global uchar* y, ulong y_off, int y_dtype, int M, int N,
                           int K, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  const int tiles_m = (M + T - 1) / T;
  const int n0 = (get_group_id(0) / tiles_m) * R;
  const int m0 = (get_group_id(0) % tiles_m) * T;
  const int groups = K / group;
  float acc[8][16];
  size_t wrow[16];
  size_t srow[16];
  size_t xrow[8];
  for (int r = 0; r < R; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wrow[r] = (size_t)n * (K / 2);
    srow[r] = (size_t)n * groups;
  }
  for (int t = 0; t < T; ++t) {
    xrow[t] = (size_t)min(m0 + t, M - 1) * K;
    for (int r = 0; r < R; ++r) acc[t][r] = 0.0f;
  }
  for (int k = lane * 16; k < K; k += W4A8_L * 16) {
    uint2 raw[16];
    float s[16];
    uint4 xv[8];
    const int kg = k / group;
    for (int r = 0; r < R; ++r) {
      raw[r] = *(__global const uint2*)(w + wrow[r] + k / 2);
      s[r] = vload_half(srow[r] + kg, sw);
    }
    for (int t = 0; t < T; ++t) xv[t] = *(__global const uint4*)(xq + xrow[t] + k);
    for (int sub = 0; sub < 4; ++sub) {
      w4a8_wvec wq[16];
      for (int r = 0; r < R; ++r) wq[r] = w4a8_unpack4((sub < 2 ? raw[r].x : raw[r].y) >> (16 * (sub & 1)));
      for (int t = 0; t < T; ++t) {
        const uint x4 = sub == 0 ? xv[t].x : sub == 1 ? xv[t].y : sub == 2 ? xv[t].z : xv[t].w;
        for (int r = 0; r < R; ++r) acc[t][r] += s[r] * (float)w4a8_dot4(wq[r], x4);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) red[(t * R + r) * (W4A8_L + 1) + lane] = acc[t][r];
  }
  const float sum = incq_reduce_lanes(red, part, W4A8_L, R * T, lane);
  if (lane < R * T) {
    const int n = n0 + lane % R;
    const int m = m0 + lane / R;
    if (n < N && m < M) {
      const float v = sum * xs[m];
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, bias_dtype ? v + incq_load_f(bias, bias_dtype, n) : v);
    }
  }
}

#define W4A8_GEMM_ARGS                                                                                      \
  __global const uchar *w, __global const half *sw, int group, __global const uchar *bias, int bias_dtype, \
      __global const uchar *xq, __global const float *xs, __global uchar *y, ulong y_off, int y_dtype, int M, \
      int N, int K
#define W4A8_GEMM_PASS w, sw, group, bias, bias_dtype, xq, xs, y, y_off, y_dtype, M, N, K
#define W4A8_GEMM_KERNEL(R, T)                                                                      \
  __kernel __attribute__((reqd_work_group_size(W4A8_L, 1, 1))) void                                 \
      w4a8_qd8_f32_qc4w_gemm_##R##x##T##_k128(W4A8_GEMM_ARGS) {                                     \
    __local float red[R * T * (W4A8_L + 1)];                                                        \
    __local float part[W4A8_L];                                                                     \
    w4a8_gemm_tile(R, T, W4A8_GEMM_PASS, red, part);                                                \
  }

W4A8_GEMM_KERNEL(16, 1)
W4A8_GEMM_KERNEL(16, 4)
W4A8_GEMM_KERNEL(8, 8)
