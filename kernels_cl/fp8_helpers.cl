// Helpers shared by the float-format kernels (fp8_*, mx_*, nv_*, w4a8_*): exact decoders of the
// small float codes, loads/stores of the activation and scale dtypes, and the fp32 steps of
// docs/formats.md §3 that must round exactly as IEEE binary32 does.
//
// OpenCL 1.2 only: no fp16 arithmetic (F16 goes through vload_half / vstore_half_rte, which are core),
// no subgroups. Contraction is off because a fused multiply-add rounds once where the activation
// quantizers' contract rounds twice.
#pragma OPENCL FP_CONTRACT OFF

// incq_dtype values the kernels see (plugin_api.h).
#define INCQ_F32 1
#define INCQ_F16 2
#define INCQ_BF16 3
#define INCQ_F8_E4M3 10
#define INCQ_F8_E5M2 11

// ---------------------------------------------------------------- element decoders (exact)

// e4m3 "fn": S.EEEE.MMM, bias 7. Normal codes become fp32 by moving E/M into place and rebasing the
// exponent (120 = 127 - 7); subnormals (E = 0) are M * 2^-9. NaN codes never reach a kernel (the
// loader rejects them).
inline float incq_e4m3_to_f32(uint c) {
  const uint m = c & 0x7Fu;
  const float mag = m < 8u ? (float)m * 0x1p-9f : as_float((m << 20) + (120u << 23));
  return (c & 0x80u) ? -mag : mag;
}

// e5m2: S.EEEEE.MM, bias 15 (112 = 127 - 15); subnormals are M * 2^-16.
inline float incq_e5m2_to_f32(uint c) {
  const uint m = c & 0x7Fu;
  const float mag = m < 4u ? (float)m * 0x1p-16f : as_float((m << 21) + (112u << 23));
  return (c & 0x80u) ? -mag : mag;
}

// E2M1 nibble (bit 3 sign): {0, .5, 1, 1.5, 2, 3, 4, 6}; index i >= 2 is 2^(e-1)(1 + m/2).
inline float incq_e2m1_to_f32(uint nib) {
  const uint i = nib & 7u;
  const float mag = i < 2u ? (float)i * 0.5f : as_float((i << 22) + (126u << 23));
  return (nib & 8u) ? -mag : mag;
}

// E0M4 nibble (MXINT4, sign-magnitude): (+-m) / 4.
inline float incq_e0m4_to_f32(uint nib) {
  const float mag = (float)(nib & 7u) * 0.25f;
  return (nib & 8u) ? -mag : mag;
}

// E8M0 byte: 2^(s - 127). s = 0 is 2^-127, an fp32 subnormal (a device that flushes subnormals
// reads 0 there; such weights are below every tolerance we state). 255 (NaN) is rejected at load.
inline float incq_e8m0_to_f32(uint s) {
  return s == 0u ? 0x1p-127f : as_float(s << 23);
}

// ---------------------------------------------------------------- dtype loads / stores

// Element i of a F32 / F16 / BF16 array.
inline float incq_load_f(__global const uchar* p, int dtype, size_t i) {
  if (dtype == INCQ_F32) return ((__global const float*)p)[i];
  if (dtype == INCQ_F16) return vload_half(i, (__global const half*)p);
  return as_float((uint)((__global const ushort*)p)[i] << 16);
}

// Sixteen consecutive elements starting at i (a multiple of 16; the host guarantees alignment).
inline float16 incq_load_f16v(__global const uchar* p, int dtype, size_t i) {
  if (dtype == INCQ_F32) {
    __global const float4* v = (__global const float4*)p + i / 4;
    return (float16)(v[0], v[1], v[2], v[3]);
  }
  if (dtype == INCQ_F16) return vload_half16(i / 16, (__global const half*)p);
  const uint8 u = *((__global const uint8*)p + i / 16);  // 8 words = 16 bf16, low half first
  const uint8 lo = u << 16;
  const uint8 hi = u & (uint8)0xFFFF0000u;
  return (float16)(as_float(lo.s0), as_float(hi.s0), as_float(lo.s1), as_float(hi.s1), as_float(lo.s2),
                   as_float(hi.s2), as_float(lo.s3), as_float(hi.s3), as_float(lo.s4), as_float(hi.s4),
                   as_float(lo.s5), as_float(hi.s5), as_float(lo.s6), as_float(hi.s6), as_float(lo.s7),
                   as_float(hi.s7));
}

// Rounds v once to the output dtype (round to nearest even) and stores it at element i.
inline void incq_store_f(__global uchar* p, int dtype, size_t i, float v) {
  if (dtype == INCQ_F32) {
    ((__global float*)p)[i] = v;
  } else if (dtype == INCQ_F16) {
    vstore_half_rte(v, i, (__global half*)p);
  } else {
    uint u = as_uint(v);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
      u = 0x7FC00000u;  // NaN stays a quiet NaN
    } else {
      u += 0x7FFFu + ((u >> 16) & 1u);
    }
    ((__global ushort*)p)[i] = (ushort)(u >> 16);
  }
}

// ---------------------------------------------------------------- exact fp32 steps

// fp32(a / b), correctly rounded (ties to even), for a >= 0 and finite b > 0. OpenCL 1.2 lets `/`
// be off by 2.5 ulp, and the activation contract needs the IEEE quotient, so the candidate is
// walked to the two floats bracketing a/b (fma gives each residual a - r*b with one rounding, whose
// sign is exact) and the nearer one kept, the even one on a tie. Residuals of neighbours of the true
// quotient are exactly representable, so the final comparison is exact.
inline float incq_div_rn_pos(float a, float b) {
  float r = a / b;
  for (int i = 0; i < 4 && fma(-r, b, a) < 0.0f; ++i) r = nextafter(r, 0.0f);
  for (int i = 0; i < 4; ++i) {
    const float up = nextafter(r, INFINITY);
    if (fma(-up, b, a) >= 0.0f) {
      r = up;
    } else {
      break;
    }
  }
  const float up = nextafter(r, INFINITY);
  const float below = fma(-r, b, a);  // a - r*b >= 0
  const float above = fma(up, b, -a); // up*b - a > 0
  if (above < below || (above == below && (as_uint(up) & 1u) == 0u)) r = up;
  return r;
}

// fp32(x / b) for any finite x and b > 0.
inline float incq_div_rn(float x, float b) {
  const float q = incq_div_rn_pos(fabs(x), b);
  return x < 0.0f ? -q : q;
}

// fp32(1 / v), or 0 for v == 0 (AutoRound's get_reciprocal); v >= 0.
inline float incq_recip_or_zero(float v) { return v == 0.0f ? 0.0f : incq_div_rn_pos(1.0f, v); }

// The e4m3 code of v: round to nearest even on the e4m3 grid (subnormals included), saturating at
// +-448, sign of zero kept. Subnormal range: |v| * 2^9 is exact and rint rounds it to the step 2^-9
// (a result of 8 is 2^-6, whose code 0x08 is the same number). Normal range: add the rounding bias
// below the 3 kept fraction bits of the fp32 pattern, then rebase the exponent.
inline uint incq_f32_to_e4m3(float v) {
  const uint sign = (as_uint(v) >> 24) & 0x80u;
  const float a = fabs(v);
  uint code;
  if (a < 0x1p-6f) {
    code = (uint)rint(a * 0x1p9f);
  } else {
    uint b = as_uint(a);
    b += 0x7FFFFu + ((b >> 20) & 1u);
    code = (b >> 20) - (120u << 3);
    if (code > 0x7Eu) code = 0x7Eu;
  }
  return sign | code;
}

// The E2M1 grid value nearest |v| (ties to even, saturating at 6), with v's sign: step 0.5 below 2,
// 1 below 4, 2 above (docs/formats.md §1).
inline float incq_round_e2m1(float v) {
  const float a = fmin(fabs(v), 6.0f);
  float q;
  if (a < 2.0f) {
    q = rint(a * 2.0f) * 0.5f;
  } else if (a < 4.0f) {
    q = rint(a);
  } else {
    q = rint(a * 0.5f) * 2.0f;
  }
  return (as_uint(v) & 0x80000000u) ? -q : q;
}

// Four consecutive elements starting at i (a multiple of 4; the host guarantees the alignment).
inline float4 incq_load_f4v(__global const uchar* p, int dtype, size_t i) {
  if (dtype == INCQ_F32) return *((__global const float4*)p + i / 4);
  if (dtype == INCQ_F16) return vload_half4(i / 4, (__global const half*)p);
  const uint2 u = *((__global const uint2*)p + i / 4);  // 4 bf16, low half of each word first
  return (float4)(as_float(u.x << 16), as_float(u.x & 0xFFFF0000u), as_float(u.y << 16),
                  as_float(u.y & 0xFFFF0000u));
}

// The last step of every matmul tile: the work-group's L lanes each hold V = R*T partial sums
// (red[j * (L + 1) + lane], padded so a column read is free of bank conflicts); P = L / V lanes
// add up one slice of each value, then one lane per value adds the P slices (depth L/P + P
// instead of L). Returns, in lanes < V, the total of value `lane`; other lanes get 0.
inline float incq_reduce_lanes(__local float* red, __local float* part, int L, int V, int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  const int P = L / V;
  const int j = lane / P;
  const int p = lane % P;
  const int len = L / P;
  float s = 0.0f;
  for (int i = 0; i < len; ++i) s += red[j * (L + 1) + p * len + i];
  part[j * P + p] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  float total = 0.0f;
  if (lane < V) {
    for (int i = 0; i < P; ++i) total += part[lane * P + i];
  }
  return total;
}

// Routing tile `tile` of the MoE driver (moe_route.cl: tiles[3 * i] = expert, begin, rows over the
// pairs sorted by expert). Returns the expert; pair[t] for t < T is the routed pair of row t of the
// tile, rows past its length repeating the last one (computed, never stored: *len says how many
// are real).
inline int incq_moe_tile(__global const int* tiles, __global const int* sorted_pairs, int tile, const int T,
                         int* pair, int* len) {
  const int e = tiles[3 * tile];
  const int begin = tiles[3 * tile + 1];
  *len = tiles[3 * tile + 2];
  for (int t = 0; t < T; ++t) pair[t] = sorted_pairs[begin + min(t, *len - 1)];
  return e;
}

inline float incq_silu_mul(float g, float u) { return g / (1.0f + exp(-g)) * u; }

// The MoE projections' stores (fp8/mx/w4a8 *_moe_RxT_k128.cl). Lane l < 16*T holds v for row l % 16
// of the tile's pair row l / 16. gate_up: rows 0-7 are gate and rows 8-15 the same columns of up;
// out[pair, n0 + r] = silu(gate) * up for the tile's real pairs. Every lane of the work-group must
// call it (it synchronises through `both`).
inline void incq_moe_store_gate_up(const int T, const int lane, const float v, __local float* both, const int* pair,
                                   const int len, const int n0, const int N, __global float* out) {
  if (lane < 16 * T) both[lane] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lane < 8 * T) {
    const int t = lane / 8, r = lane % 8;
    if (n0 + r < N && t < len) out[(size_t)pair[t] * N + n0 + r] = incq_silu_mul(both[t * 16 + r], both[t * 16 + 8 + r]);
  }
}

// down: out[pair, n0 + r] = v for the 16 rows of each real pair row.
inline void incq_moe_store_down(const int T, const int lane, const float v, const int* pair, const int len,
                                const int n0, const int N, __global float* out) {
  if (lane < 16 * T) {
    const int t = lane / 16, r = lane % 16;
    if (n0 + r < N && t < len) out[(size_t)pair[t] * N + n0 + r] = v;
  }
}
