// FP8 weight-only matmul y[M, N] = x[M, K] . W^T + bias with W the checkpoint's [N, K] e4m3 / e5m2
// codes times a scale grid: scale(n, k) = scales[(n / rows_per_scale) * scale_cols + k / cols_per_scale]
// (per tensor, per channel, per group and 128x128 blocks are all this grid). fp32 accumulation.
//
// Tile: a work-group of 64 work-items owns 8 rows of W (n) and T tokens (m); the 64 split K, each
// reading 16 consecutive codes of each row per step (a 16-byte load; neighbours read neighbouring
// 16 bytes, so a row streams coalesced), then a local-memory reduction over the 64. Decode (M <= 8)
// reads every weight byte once; larger M re-reads W once per T tokens (grid dim 1).
// Kernels: fp8_f32_gemm_8x1_k64 (T = 1), fp8_f32_gemm_8x8_k64 (T = 8).
// Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define FP8_LWS 64
#define FP8_ROWS 8
#define FP8_RED_STRIDE (FP8_LWS + 1)  // padding: the reduction reads a column without bank conflicts

inline float16 fp8_decode16(uint4 c, int e5m2) {
  const uint16 v = convert_uint16(as_uchar16(c));
  const uint16 m = v & (uint16)0x7Fu;
  const uint16 sign = (v & (uint16)0x80u) << 24;
  float16 normal, sub;
  int16 is_sub;
  if (e5m2) {
    normal = as_float16((m << 21) + (uint16)(112u << 23));
    sub = convert_float16(m) * 0x1p-16f;
    is_sub = as_int16(m < (uint16)4u);
  } else {
    normal = as_float16((m << 20) + (uint16)(120u << 23));
    sub = convert_float16(m) * 0x1p-9f;
    is_sub = as_int16(m < (uint16)8u);
  }
  return as_float16(as_uint16(select(normal, sub, is_sub)) | sign);
}

inline float fp8_decode1(uint c, int e5m2) { return e5m2 ? incq_e5m2_to_f32(c) : incq_e4m3_to_f32(c); }

inline float fp8_dot16(float16 a, float16 b) {
  const float16 p = a * b;
  return ((p.s0 + p.s1) + (p.s2 + p.s3)) + ((p.s4 + p.s5) + (p.s6 + p.s7)) +
         (((p.s8 + p.s9) + (p.sa + p.sb)) + ((p.sc + p.sd) + (p.se + p.sf)));
}

// vec: the host checked K % 16 == 0, the x offset is a multiple of 16, and cols_per_scale is a
// multiple of 16 or >= K (one scale per 16-element step). Otherwise the element-wise path runs.
inline void fp8_gemm_tile(const int T, __global const uchar* w, __global const uchar* sc, int sc_dtype,
                          int rows_per_scale, int cols_per_scale, int scale_cols, __global const uchar* bias,
                          int bias_dtype, __global const uchar* x, ulong x_off, int x_dtype, __global uchar* y,
                          ulong y_off, int y_dtype, int M, int N, int K, int e5m2, int vec, __local float* red) {
  const int lid = get_local_id(0);
  const int n0 = get_group_id(0) * FP8_ROWS;
  const int m0 = get_group_id(1) * T;
  float acc[8][FP8_ROWS];
  size_t wrow[FP8_ROWS];
  size_t srow[FP8_ROWS];
  size_t xrow[8];
  for (int r = 0; r < FP8_ROWS; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wrow[r] = (size_t)n * K;
    srow[r] = (size_t)(n / rows_per_scale) * scale_cols;
  }
  for (int t = 0; t < T; ++t) {
    xrow[t] = x_off + (size_t)min(m0 + t, M - 1) * K;
    for (int r = 0; r < FP8_ROWS; ++r) acc[t][r] = 0.0f;
  }
  if (vec) {
    for (int k = lid * 16; k < K; k += FP8_LWS * 16) {
      float16 xv[8];
      for (int t = 0; t < T; ++t) xv[t] = incq_load_f16v(x, x_dtype, xrow[t] + k);
      const int kg = k / cols_per_scale;
      for (int r = 0; r < FP8_ROWS; ++r) {
        const float16 wv = fp8_decode16(*(__global const uint4*)(w + wrow[r] + k), e5m2);
        const float s = incq_load_f(sc, sc_dtype, srow[r] + kg);
        for (int t = 0; t < T; ++t) acc[t][r] += s * fp8_dot16(wv, xv[t]);
      }
    }
  } else {
    for (int k = lid; k < K; k += FP8_LWS) {
      float xs[8];
      for (int t = 0; t < T; ++t) xs[t] = incq_load_f(x, x_dtype, xrow[t] + k);
      const int kg = k / cols_per_scale;
      for (int r = 0; r < FP8_ROWS; ++r) {
        const float wv = fp8_decode1(w[wrow[r] + k], e5m2) * incq_load_f(sc, sc_dtype, srow[r] + kg);
        for (int t = 0; t < T; ++t) acc[t][r] += wv * xs[t];
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < FP8_ROWS; ++r) red[(t * FP8_ROWS + r) * FP8_RED_STRIDE + lid] = acc[t][r];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid < T * FP8_ROWS) {
    const int t = lid / FP8_ROWS;
    const int r = lid % FP8_ROWS;
    const int n = n0 + r;
    const int m = m0 + t;
    if (n < N && m < M) {
      float sum = 0.0f;
      for (int i = 0; i < FP8_LWS; ++i) sum += red[lid * FP8_RED_STRIDE + i];
      if (bias_dtype != 0) sum += incq_load_f(bias, bias_dtype, n);
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, sum);
    }
  }
}

#define FP8_GEMM_ARGS                                                                                         \
  __global const uchar *w, __global const uchar *sc, int sc_dtype, int rows_per_scale, int cols_per_scale,  \
      int scale_cols, __global const uchar *bias, int bias_dtype, __global const uchar *x, ulong x_off,      \
      int x_dtype, __global uchar *y, ulong y_off, int y_dtype, int M, int N, int K, int e5m2, int vec
#define FP8_GEMM_PASS                                                                                   \
  w, sc, sc_dtype, rows_per_scale, cols_per_scale, scale_cols, bias, bias_dtype, x, x_off, x_dtype, y, \
      y_off, y_dtype, M, N, K, e5m2, vec

__kernel __attribute__((reqd_work_group_size(FP8_LWS, 1, 1))) void fp8_f32_gemm_8x1_k64(FP8_GEMM_ARGS) {
  __local float red[1 * FP8_ROWS * FP8_RED_STRIDE];
  fp8_gemm_tile(1, FP8_GEMM_PASS, red);
}

__kernel __attribute__((reqd_work_group_size(FP8_LWS, 1, 1))) void fp8_f32_gemm_8x8_k64(FP8_GEMM_ARGS) {
  __local float red[8 * FP8_ROWS * FP8_RED_STRIDE];
  fp8_gemm_tile(8, FP8_GEMM_PASS, red);
}
