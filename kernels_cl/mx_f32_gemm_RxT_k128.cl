// MX / NV block-scaled weight matmul y[M, N] = x[M, K] . W^T + bias, fp32 accumulation, with W the
// checkpoint's [N, K] elements times one scale per `group` elements along K (docs/formats.md §2):
//   elem 0 MXFP4  (E2M1 nibbles, weight_packed [N, K/2]), E8M0 scale bytes [N, K/32]
//   elem 1 MXFP8  (e4m3 bytes, weight [N, K]),            E8M0 scale bytes [N, K/32]
//   elem 2 MXINT4 (E0M4 nibbles, weight_packed [N, K/2]), E8M0 scale bytes [N, K/32]
//   elem 3 NVFP4  (E2M1 nibbles, weight_packed [N, K/2]), e4m3 scale bytes [N, K/16] times inv_global
// Two nibbles per byte along K, element 2j low.
// Tile as fp8_f32_gemm_RxT_k128.cl: 128 lanes split K reading 8 bytes of each of R rows per step
// (16 nibble elements or 8 e4m3 elements, always inside one scale group), T tokens.
// The host guarantees K % 32 == 0 (MX) / K % 16 == 0 (NV); vec: the x offset is a multiple of 16.
// Kernels mx_f32_gemm_{R}x{T}_k128: 8x1 (decode), 8x4, 8x8; 4x1, 16x1, 16x4, 4x8 with INCQ_XPU_ALL_TILES. Needs fp8_helpers.cl.
#pragma OPENCL FP_CONTRACT ON

#define MX_L 128

// Four nibbles (bits 0..15 of v, low nibble first) as E2M1 or E0M4 values.
inline float4 mx_decode_nibbles4(uint v, int e0m4) {
  const uint4 nib = (uint4)(v, v >> 4, v >> 8, v >> 12) & (uint4)0xFu;
  const uint4 i = nib & (uint4)7u;
  float4 mag;
  if (e0m4) {
    mag = convert_float4(i) * 0.25f;
  } else {
    mag = select(as_float4((i << 22) + (uint4)(126u << 23)), convert_float4(i) * 0.5f, as_int4(i < (uint4)2u));
  }
  return as_float4(as_uint4(mag) | ((nib & (uint4)8u) << 28));
}

inline float4 mx_decode_e4m3_4(uint c) {
  const uint4 v = (uint4)(c, c >> 8, c >> 16, c >> 24) & (uint4)0xFFu;
  const uint4 m = v & (uint4)0x7Fu;
  const float4 mag = select(as_float4((m << 20) + (uint4)(120u << 23)), convert_float4(m) * 0x1p-9f,
                            as_int4(m < (uint4)8u));
  return as_float4(as_uint4(mag) | ((v & (uint4)0x80u) << 24));
}

inline float mx_element(__global const uchar* w, size_t row_at, int k, int elem) {
  if (elem == 1) return incq_e4m3_to_f32(w[row_at + k]);
  const uint b = w[row_at + k / 2];
  const uint nib = (k & 1) ? (b >> 4) : (b & 0xFu);
  return elem == 2 ? incq_e0m4_to_f32(nib) : incq_e2m1_to_f32(nib);
}

inline float mx_scale(__global const uchar* sc, int at, int elem, float inv_global) {
  const uint s = sc[at];
  return elem == 3 ? incq_e4m3_to_f32(s) * inv_global : incq_e8m0_to_f32(s);
}

#define MX_ACC4(W4, X4, A) \
  A += (W4).x * (X4).x;    \
  A += (W4).y * (X4).y;    \
  A += (W4).z * (X4).z;    \
  A += (W4).w * (X4).w;

// The shared tile: lane t*R + r returns sum_k w_r[k] * x_t[k], row r's elements starting at wr[r]
// and its scale bytes at sr[r], x_t at element xrow[t] of x; other lanes return 0.
inline float mx_tile(const int R, const int T, __global const uchar** wr, __global const uchar** sr, int elem,
                     int group, float inv_global, __global const uchar* x, const size_t* xrow, int x_dtype, int K,
                     int vec, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  float acc[8][16];
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) acc[t][r] = 0.0f;
  }
  if (vec && elem == 1) {
    for (int k = lane * 8; k < K; k += MX_L * 8) {
      uint2 raw[16];
      float s[16];
      const int kg = k / group;
      for (int r = 0; r < R; ++r) {
        raw[r] = *(__global const uint2*)(wr[r] + k);
        s[r] = mx_scale(sr[r], kg, elem, inv_global);
      }
      for (int sub = 0; sub < 2; ++sub) {
        float4 w4[16];
        for (int r = 0; r < R; ++r) w4[r] = mx_decode_e4m3_4(sub ? raw[r].y : raw[r].x) * s[r];
        for (int t = 0; t < T; ++t) {
          const float4 x4 = incq_load_f4v(x, x_dtype, xrow[t] + k + 4 * sub);
          for (int r = 0; r < R; ++r) {
            MX_ACC4(w4[r], x4, acc[t][r])
          }
        }
      }
    }
  } else if (vec) {
    for (int k = lane * 16; k < K; k += MX_L * 16) {
      uint2 raw[16];
      float s[16];
      const int kg = k / group;
      for (int r = 0; r < R; ++r) {
        raw[r] = *(__global const uint2*)(wr[r] + k / 2);
        s[r] = mx_scale(sr[r], kg, elem, inv_global);
      }
      for (int sub = 0; sub < 4; ++sub) {
        float4 w4[16];
        for (int r = 0; r < R; ++r) {
          const uint word = (sub < 2 ? raw[r].x : raw[r].y) >> (16 * (sub & 1));
          w4[r] = mx_decode_nibbles4(word, elem == 2) * s[r];
        }
        for (int t = 0; t < T; ++t) {
          const float4 x4 = incq_load_f4v(x, x_dtype, xrow[t] + k + 4 * sub);
          for (int r = 0; r < R; ++r) {
            MX_ACC4(w4[r], x4, acc[t][r])
          }
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += MX_L) {
      const int kg = k / group;
      for (int r = 0; r < R; ++r) {
        const float wv = mx_element(wr[r], 0, k, elem) * mx_scale(sr[r], kg, elem, inv_global);
        for (int t = 0; t < T; ++t) acc[t][r] += wv * incq_load_f(x, x_dtype, xrow[t] + k);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) red[(t * R + r) * (MX_L + 1) + lane] = acc[t][r];
  }
  return incq_reduce_lanes(red, part, MX_L, R * T, lane);
}

inline void mx_gemm_tile(const int R, const int T, __global const uchar* w, __global const uchar* sc, int elem,
                         int group, float inv_global, __global const uchar* bias, int bias_dtype,
                         __global const uchar* x, ulong x_off, int x_dtype, __global uchar* y, ulong y_off,
                         int y_dtype, int M, int N, int K, int vec, __local float* red, __local float* part) {
  const int lane = get_local_id(0);
  const int tiles_m = (M + T - 1) / T;
  const int n0 = (get_group_id(0) / tiles_m) * R;
  const int m0 = (get_group_id(0) % tiles_m) * T;
  const size_t row_bytes = elem == 1 ? (size_t)K : (size_t)K / 2;
  __global const uchar* wr[16];
  __global const uchar* sr[16];
  size_t xrow[8];
  for (int r = 0; r < R; ++r) {
    const int n = min(n0 + r, N - 1);  // rows past N compute a copy of row N-1 and are not stored
    wr[r] = w + (size_t)n * row_bytes;
    sr[r] = sc + (size_t)n * (K / group);
  }
  for (int t = 0; t < T; ++t) xrow[t] = x_off + (size_t)min(m0 + t, M - 1) * K;
  const float sum = mx_tile(R, T, wr, sr, elem, group, inv_global, x, xrow, x_dtype, K, vec, red, part);
  if (lane < R * T) {
    const int n = n0 + lane % R;
    const int m = m0 + lane / R;
    if (n < N && m < M) {
      incq_store_f(y, y_dtype, y_off + (size_t)m * N + n, bias_dtype ? sum + incq_load_f(bias, bias_dtype, n) : sum);
    }
  }
}

#define MX_GEMM_ARGS                                                                                    \
  __global const uchar *w, __global const uchar *sc, int elem, int group, float inv_global,             \
      __global const uchar *bias, int bias_dtype, __global const uchar *x, ulong x_off, int x_dtype,    \
      __global uchar *y, ulong y_off, int y_dtype, int M, int N, int K, int vec
#define MX_GEMM_PASS \
  w, sc, elem, group, inv_global, bias, bias_dtype, x, x_off, x_dtype, y, y_off, y_dtype, M, N, K, vec
#define MX_GEMM_KERNEL(R, T)                                                                                      \
  __kernel __attribute__((reqd_work_group_size(MX_L, 1, 1))) void mx_f32_gemm_##R##x##T##_k128(MX_GEMM_ARGS) { \
    __local float red[R * T * (MX_L + 1)];                                                                        \
    __local float part[MX_L];                                                                                     \
    mx_gemm_tile(R, T, MX_GEMM_PASS, red, part);                                                                  \
  }

// The tiles dispatch picks (plugins/inc_xpu/glue/fp8_float_device.cpp); the others only with
// INCQ_XPU_ALL_TILES (tests/xpu/xpu_float_harness), so PoCL compiles less in CI.
MX_GEMM_KERNEL(8, 1)
MX_GEMM_KERNEL(8, 4)
MX_GEMM_KERNEL(8, 8)
#ifdef INCQ_XPU_ALL_TILES
MX_GEMM_KERNEL(4, 1)
MX_GEMM_KERNEL(16, 1)
MX_GEMM_KERNEL(16, 4)
MX_GEMM_KERNEL(4, 8)
#endif
