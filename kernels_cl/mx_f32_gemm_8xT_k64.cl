// MX / NV block-scaled weight matmul y[M, N] = x[M, K] . W^T + bias, fp32 accumulation, with W the
// checkpoint's [N, K] elements times one scale per `group` elements along K (docs/formats.md §2):
//   elem 0 MXFP4  (E2M1 nibbles, weight_packed [N, K/2]), E8M0 scale bytes [N, K/32]
//   elem 1 MXFP8  (e4m3 bytes, weight [N, K]),            E8M0 scale bytes [N, K/32]
//   elem 2 MXINT4 (E0M4 nibbles, weight_packed [N, K/2]), E8M0 scale bytes [N, K/32]
//   elem 3 NVFP4  (E2M1 nibbles, weight_packed [N, K/2]), e4m3 scale bytes [N, K/16] times inv_global
// Two nibbles per byte along K, element 2j low. Each scale covers the 16 elements a work-item reads
// per step (group 16 or 32), so the inner loop applies it once per step.
// Tile as fp8_f32_gemm_8xT_k64.cl: 64 work-items split K, 8 rows of W and T tokens per work-group.
// The host guarantees K % 32 == 0 (MX) / K % 16 == 0 (NV); vec: the x offset is a multiple of 16.
// Kernels: mx_f32_gemm_8x1_k64, mx_f32_gemm_8x8_k64. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define MX_LWS 64
#define MX_ROWS 8
#define MX_RED_STRIDE (MX_LWS + 1)

// Sixteen nibbles (elements k..k+15) of a packed row, low nibble first.
inline float16 mx_decode_nibbles16(uint2 p, int e0m4) {
  const uint8 sh = (uint8)(0u, 4u, 8u, 12u, 16u, 20u, 24u, 28u);
  const uint16 nib = (uint16)(((uint8)p.x >> sh) & (uint8)0xFu, ((uint8)p.y >> sh) & (uint8)0xFu);
  const uint16 i = nib & (uint16)7u;
  const uint16 sign = (nib & (uint16)8u) << 28;
  float16 mag;
  if (e0m4) {
    mag = convert_float16(i) * 0.25f;
  } else {
    const float16 normal = as_float16((i << 22) + (uint16)(126u << 23));
    mag = select(normal, convert_float16(i) * 0.5f, as_int16(i < (uint16)2u));
  }
  return as_float16(as_uint16(mag) | sign);
}

inline float16 mx_decode_e4m3_16(uint4 c) {
  const uint16 v = convert_uint16(as_uchar16(c));
  const uint16 m = v & (uint16)0x7Fu;
  const float16 normal = as_float16((m << 20) + (uint16)(120u << 23));
  const float16 sub = convert_float16(m) * 0x1p-9f;
  return as_float16(as_uint16(select(normal, sub, as_int16(m < (uint16)8u))) | ((v & (uint16)0x80u) << 24));
}

inline float mx_dot16(float16 a, float16 b) {
  const float16 p = a * b;
  return ((p.s0 + p.s1) + (p.s2 + p.s3)) + ((p.s4 + p.s5) + (p.s6 + p.s7)) +
         (((p.s8 + p.s9) + (p.sa + p.sb)) + ((p.sc + p.sd) + (p.se + p.sf)));
}

inline float mx_element(__global const uchar* w, size_t row_bytes_at, int k, int elem) {
  if (elem == 1) return incq_e4m3_to_f32(w[row_bytes_at + k]);
  const uint b = w[row_bytes_at + k / 2];
  const uint nib = (k & 1) ? (b >> 4) : (b & 0xFu);
  return elem == 2 ? incq_e0m4_to_f32(nib) : incq_e2m1_to_f32(nib);
}

inline float mx_scale(__global const uchar* sc, size_t at, int elem, float inv_global) {
  const uint s = sc[at];
  return elem == 3 ? incq_e4m3_to_f32(s) * inv_global : incq_e8m0_to_f32(s);
}

inline void mx_gemm_tile(const int T, __global const uchar* w, __global const uchar* sc, int elem, int group,
                         float inv_global, __global const uchar* bias, int bias_dtype, __global const uchar* x,
                         ulong x_off, int x_dtype, __global uchar* y, ulong y_off, int y_dtype, int M, int N, int K,
                         int vec, __local float* red) {
  const int lid = get_local_id(0);
  const int n0 = get_group_id(0) * MX_ROWS;
  const int m0 = get_group_id(1) * T;
  const size_t row_bytes = elem == 1 ? (size_t)K : (size_t)K / 2;
  const int scale_cols = K / group;
  float acc[8][MX_ROWS];
  size_t wrow[MX_ROWS];
  size_t srow[MX_ROWS];
  size_t xrow[8];
  for (int r = 0; r < MX_ROWS; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wrow[r] = (size_t)n * row_bytes;
    srow[r] = (size_t)n * scale_cols;
  }
  for (int t = 0; t < T; ++t) {
    xrow[t] = x_off + (size_t)min(m0 + t, M - 1) * K;
    for (int r = 0; r < MX_ROWS; ++r) acc[t][r] = 0.0f;
  }
  if (vec) {
    for (int k = lid * 16; k < K; k += MX_LWS * 16) {
      float16 xv[8];
      for (int t = 0; t < T; ++t) xv[t] = incq_load_f16v(x, x_dtype, xrow[t] + k);
      const int kg = k / group;
      for (int r = 0; r < MX_ROWS; ++r) {
        float16 wv;
        if (elem == 1) {
          wv = mx_decode_e4m3_16(*(__global const uint4*)(w + wrow[r] + k));
        } else {
          wv = mx_decode_nibbles16(*(__global const uint2*)(w + wrow[r] + k / 2), elem == 2);
        }
        const float s = mx_scale(sc, srow[r] + kg, elem, inv_global);
        for (int t = 0; t < T; ++t) acc[t][r] += s * mx_dot16(wv, xv[t]);
      }
    }
  } else {
    for (int k = lid; k < K; k += MX_LWS) {
      float xs[8];
      for (int t = 0; t < T; ++t) xs[t] = incq_load_f(x, x_dtype, xrow[t] + k);
      const int kg = k / group;
      for (int r = 0; r < MX_ROWS; ++r) {
        const float wv = mx_element(w, wrow[r], k, elem) * mx_scale(sc, srow[r] + kg, elem, inv_global);
        for (int t = 0; t < T; ++t) acc[t][r] += wv * xs[t];
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < MX_ROWS; ++r) red[(t * MX_ROWS + r) * MX_RED_STRIDE + lid] = acc[t][r];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid < T * MX_ROWS) {
    const int t = lid / MX_ROWS;
    const int r = lid % MX_ROWS;
    const int n = n0 + r;
    const int m = m0 + t;
    if (n < N && m < M) {
      float sum = 0.0f;
      for (int i = 0; i < MX_LWS; ++i) sum += red[lid * MX_RED_STRIDE + i];
      if (bias_dtype != 0) sum += incq_load_f(bias, bias_dtype, n);
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, sum);
    }
  }
}

#define MX_GEMM_ARGS                                                                                    \
  __global const uchar *w, __global const uchar *sc, int elem, int group, float inv_global,             \
      __global const uchar *bias, int bias_dtype, __global const uchar *x, ulong x_off, int x_dtype,    \
      __global uchar *y, ulong y_off, int y_dtype, int M, int N, int K, int vec
#define MX_GEMM_PASS \
  w, sc, elem, group, inv_global, bias, bias_dtype, x, x_off, x_dtype, y, y_off, y_dtype, M, N, K, vec

__kernel __attribute__((reqd_work_group_size(MX_LWS, 1, 1))) void mx_f32_gemm_8x1_k64(MX_GEMM_ARGS) {
  __local float red[1 * MX_ROWS * MX_RED_STRIDE];
  mx_gemm_tile(1, MX_GEMM_PASS, red);
}

__kernel __attribute__((reqd_work_group_size(MX_LWS, 1, 1))) void mx_f32_gemm_8x8_k64(MX_GEMM_ARGS) {
  __local float red[8 * MX_ROWS * MX_RED_STRIDE];
  mx_gemm_tile(8, MX_GEMM_PASS, red);
}
