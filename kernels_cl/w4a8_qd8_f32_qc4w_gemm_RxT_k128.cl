// W4A8 matmul: y[M, N] = s_x[m] * sum_g s_w[n, g] * sum_{k in g} q_x[m, k] * (q_w[n, k] - 8) + bias.
// q_x: int8 codes [M, K] with per-token scales s_x [M] (w4a8_quantize_act_q8). W: the GPTQ int4
// symmetric codes repacked at load into [N, K/2] bytes, each 32-bit word holding 8 consecutive k
// with the nibbles in the order k0 k4 k1 k5 k2 k6 k3 k7 (low first), so that `word & 0x0F0F0F0F`
// is the four bytes q[k0..k3] and `(word >> 4) & 0x0F0F0F0F` is q[k4..k7] — one mask per four
// codes, lined up with four int8 activations. The F16 scales are [N, K/G] (the checkpoint's bytes,
// transposed). sum q*x - 8 * sum x is exact in int32; each 4-term sum is converted once and scaled
// in fp32.
// Integer dot products of four bytes: with INCQ_NV_PTX_DP4A (the host sets it for NVIDIA's
// compiler) the dp4a instruction through inline PTX; else the OpenCL 3.0 4x8-bit dot product when
// the compiler offers it; else plain integer multiply-adds.
// Tile as fp8_f32_gemm_RxT_k128.cl: 128 lanes split K reading 8 bytes (16 codes) of each of R rows
// and 16 int8 activations of each of T tokens per step. The host guarantees K % 32 == 0 and
// G % 32 == 0 (a step never straddles a group).
// Kernels w4a8_qd8_f32_qc4w_gemm_{R}x{T}_k128: 8x1 (decode), 8x4, 8x8; 4x1, 16x1, 16x4, 4x8 with INCQ_XPU_ALL_TILES. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define W4A8_L 128

// sum_j u[j] * s[j] over the four bytes of u (unsigned, the codes 0..15) and s (signed int8).
#if defined(INCQ_NV_PTX_DP4A)
inline int w4a8_dot4(uint u, uint s) {
  int d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(u), "r"(s), "r"(0));
  return d;
}
#elif defined(__opencl_c_integer_dot_product_input_4x8bit) && !defined(INCQ_W4A8_NO_DOT_PRODUCT)
inline int w4a8_dot4(uint u, uint s) { return dot(as_uchar4(u), as_char4(s)); }
#else
inline int w4a8_dot4(uint u, uint s) {
  const int4 p = convert_int4(as_uchar4(u)) * convert_int4(as_char4(s));
  return (p.x + p.y) + (p.z + p.w);
}
#endif

// sum of the four int8 activations in s.
inline int w4a8_sum4(uint s) {
  const int4 v = convert_int4(as_char4(s));
  return (v.x + v.y) + (v.z + v.w);
}

// The shared tile: lane t*R + r returns sum_g s_r[g] * sum_{k in g} (q_r[k] - 8) * xq_t[k] (without
// the token scale), row r's codes starting at wr[r], its F16 scales at sr[r], the int8 row x_t at
// byte xrow[t] of xq; other lanes return 0.
inline float w4a8_tile(const int R, const int T, __global const uchar** wr, __global const half** sr, int group,
                       __global const uchar* xq, const size_t* xrow, int K, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  float acc[8][16];
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) acc[t][r] = 0.0f;
  }
  for (int k = lane * 16; k < K; k += W4A8_L * 16) {
    uint2 raw[16];
    float s[16];
    uint4 xv[8];
    const int kg = k / group;
    for (int r = 0; r < R; ++r) {
      raw[r] = *(__global const uint2*)(wr[r] + k / 2);
      s[r] = vload_half(kg, sr[r]);
    }
    for (int t = 0; t < T; ++t) xv[t] = *(__global const uint4*)(xq + xrow[t] + k);
    for (int sub = 0; sub < 4; ++sub) {
      uint wq[16];
      for (int r = 0; r < R; ++r) wq[r] = ((sub < 2 ? raw[r].x : raw[r].y) >> (4 * (sub & 1))) & 0x0F0F0F0Fu;
      for (int t = 0; t < T; ++t) {
        const uint x4 = sub == 0 ? xv[t].x : sub == 1 ? xv[t].y : sub == 2 ? xv[t].z : xv[t].w;
        const int zero_term = 8 * w4a8_sum4(x4);  // the codes are stored + 8
        for (int r = 0; r < R; ++r) acc[t][r] += s[r] * (float)(w4a8_dot4(wq[r], x4) - zero_term);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) red[(t * R + r) * (W4A8_L + 1) + lane] = acc[t][r];
  }
  return incq_reduce_lanes(red, part, W4A8_L, R * T, lane);
}

inline void w4a8_gemm_tile(const int R, const int T, __global const uchar* w, __global const half* sw, int group,
                           __global const uchar* bias, int bias_dtype, __global const uchar* xq,
                           __global const float* xs, __global uchar* y, ulong y_off, int y_dtype, int M, int N,
                           int K, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  const int tiles_m = (M + T - 1) / T;
  const int n0 = (get_group_id(0) / tiles_m) * R;
  const int m0 = (get_group_id(0) % tiles_m) * T;
  __global const uchar* wr[16];
  __global const half* sr[16];
  size_t xrow[8];
  for (int r = 0; r < R; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wr[r] = w + (size_t)n * (K / 2);
    sr[r] = sw + (size_t)n * (K / group);
  }
  for (int t = 0; t < T; ++t) xrow[t] = (size_t)min(m0 + t, M - 1) * K;
  const float sum = w4a8_tile(R, T, wr, sr, group, xq, xrow, K, red, part);
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

// The tiles dispatch picks (plugins/inc_xpu/glue/fp8_float_device.cpp); the others only with
// INCQ_XPU_ALL_TILES (tests/xpu/xpu_float_harness), so PoCL compiles less in CI.
W4A8_GEMM_KERNEL(8, 1)
W4A8_GEMM_KERNEL(8, 4)
W4A8_GEMM_KERNEL(8, 8)
#ifdef INCQ_XPU_ALL_TILES
W4A8_GEMM_KERNEL(4, 1)
W4A8_GEMM_KERNEL(16, 1)
W4A8_GEMM_KERNEL(16, 4)
W4A8_GEMM_KERNEL(4, 8)
#endif
