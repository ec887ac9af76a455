// FP8 weight-only matmul y[M, N] = x[M, K] . W^T + bias with W the checkpoint's [N, K] e4m3 / e5m2
// codes times a scale grid: scale(n, k) = scales[(n / rows_per_scale) * scale_cols + k / cols_per_scale]
// (per tensor, per channel, per group and blocks are all this grid). fp32 accumulation.
//
// Tile: a work-group of 128 lanes owns R rows of W and T tokens; the lanes split K, each reading
// 8 consecutive codes of each row per step (neighbouring lanes read neighbouring 8 bytes, so every
// row streams coalesced, 1 KiB per row per step), decoding them 4 at a time (times the row's
// scale) against float4 loads of x. Lane partials are added in local memory at the end.
// Decode (M <= T) reads every weight byte once; larger M walks W once per T tokens, token tiles of
// one row block being neighbours in the grid so that the re-reads come from L2.
// vec: the host checked K % 8 == 0, the x offset % 8 == 0 and cols_per_scale % 8 == 0 or
// >= K (one scale per 8-element step); otherwise the element-wise path runs (any K and group).
// Kernels fp8_f32_gemm_{R}x{T}_k128: 8x1 (decode), 8x4, 8x8; 4x1, 16x1, 16x4, 4x8 with INCQ_XPU_ALL_TILES. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define FP8_L 128

inline float4 fp8_decode4(uint c, int e5m2) {
  const uint4 v = (uint4)(c, c >> 8, c >> 16, c >> 24) & (uint4)0xFFu;
  const uint4 m = v & (uint4)0x7Fu;
  const uint4 sign = (v & (uint4)0x80u) << 24;
  float4 mag;
  if (e5m2) {
    mag = select(as_float4((m << 21) + (uint4)(112u << 23)), convert_float4(m) * 0x1p-16f, as_int4(m < (uint4)4u));
  } else {
    mag = select(as_float4((m << 20) + (uint4)(120u << 23)), convert_float4(m) * 0x1p-9f, as_int4(m < (uint4)8u));
  }
  return as_float4(as_uint4(mag) | sign);
}

inline float fp8_decode1(uint c, int e5m2) { return e5m2 ? incq_e5m2_to_f32(c) : incq_e4m3_to_f32(c); }

// The shared tile: lane t*R + r of the work-group returns sum_k w_r[k] * x_t[k], where row r's
// codes start at wr[r] and its scale row at sr[r] (scale of k: element k / cols_per_scale), and x_t
// starts at element xrow[t] of x; other lanes return 0. Linear and MoE kernels only differ in how
// they fill wr / sr / xrow and where they store.
inline float fp8_tile(const int R, const int T, __global const uchar** wr, __global const uchar** sr, int sc_dtype,
                      int cols_per_scale, __global const uchar* x, const size_t* xrow, int x_dtype, int K, int e5m2,
                      int vec, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  float acc[8][16];
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) acc[t][r] = 0.0f;
  }
  if (vec) {
    for (int k = lane * 8; k < K; k += FP8_L * 8) {
      uint2 raw[16];
      float s[16];
      const int kg = k / cols_per_scale;
      for (int r = 0; r < R; ++r) {
        raw[r] = *(__global const uint2*)(wr[r] + k);
        s[r] = incq_load_f(sr[r], sc_dtype, kg);
      }
      for (int half_i = 0; half_i < 2; ++half_i) {
        float4 w4[16];
        for (int r = 0; r < R; ++r) w4[r] = fp8_decode4(half_i ? raw[r].y : raw[r].x, e5m2) * s[r];
        for (int t = 0; t < T; ++t) {
          const float4 x4 = incq_load_f4v(x, x_dtype, xrow[t] + k + 4 * half_i);
          for (int r = 0; r < R; ++r) {
            acc[t][r] += w4[r].x * x4.x;
            acc[t][r] += w4[r].y * x4.y;
            acc[t][r] += w4[r].z * x4.z;
            acc[t][r] += w4[r].w * x4.w;
          }
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += FP8_L) {
      const int kg = k / cols_per_scale;
      for (int r = 0; r < R; ++r) {
        const float wv = fp8_decode1(wr[r][k], e5m2) * incq_load_f(sr[r], sc_dtype, kg);
        for (int t = 0; t < T; ++t) acc[t][r] += wv * incq_load_f(x, x_dtype, xrow[t] + k);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) red[(t * R + r) * (FP8_L + 1) + lane] = acc[t][r];
  }
  return incq_reduce_lanes(red, part, FP8_L, R * T, lane);
}

inline int fp8_scale_width(int sc_dtype) { return sc_dtype == INCQ_F32 ? 4 : 2; }

inline void fp8_gemm_tile(const int R, const int T, __global const uchar* w, __global const uchar* sc,
                          int sc_dtype, int rows_per_scale, int cols_per_scale, int scale_cols,
                          __global const uchar* bias, int bias_dtype, __global const uchar* x, ulong x_off,
                          int x_dtype, __global uchar* y, ulong y_off, int y_dtype, int M, int N, int K, int e5m2,
                          int vec, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  const int tiles_m = (M + T - 1) / T;
  const int n0 = (get_group_id(0) / tiles_m) * R;
  const int m0 = (get_group_id(0) % tiles_m) * T;
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  for (int r = 0; r < R; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wr[r] = w + (size_t)n * K;
    sr[r] = sc + (size_t)(n / rows_per_scale) * scale_cols * fp8_scale_width(sc_dtype);
  }
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)min(m0 + t, M - 1) * K;
  const float sum = fp8_tile(R, T, wr, sr, sc_dtype, cols_per_scale, x, xrow, x_dtype, K, e5m2, vec, red, part);
  if (lane < R * T) {
    const int n = n0 + lane % R;
    const int m = m0 + lane / R;
    if (n < N && m < M) {
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, bias_dtype ? sum + incq_load_f(bias, bias_dtype, n) : sum);
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
#define FP8_GEMM_KERNEL(R, T)                                                                       \
  __kernel __attribute__((reqd_work_group_size(FP8_L, 1, 1))) void fp8_f32_gemm_##R##x##T##_k128( \
      FP8_GEMM_ARGS) {                                                                              \
    __local float red[R * T * (FP8_L + 1)];                                                         \
    __local float part[FP8_L];                                                                      \
    fp8_gemm_tile(R, T, FP8_GEMM_PASS, red, part);                                                  \
  }

// The tiles dispatch picks (plugins/inc_xpu/glue/fp8_float_device.cpp); the others only with
// INCQ_XPU_ALL_TILES (tests/xpu/xpu_float_harness), so PoCL compiles less in CI.
FP8_GEMM_KERNEL(8, 1)
FP8_GEMM_KERNEL(8, 4)
FP8_GEMM_KERNEL(8, 8)
#ifdef INCQ_XPU_ALL_TILES
FP8_GEMM_KERNEL(4, 1)
FP8_GEMM_KERNEL(16, 1)
FP8_GEMM_KERNEL(16, 4)
FP8_GEMM_KERNEL(4, 8)
#endif
