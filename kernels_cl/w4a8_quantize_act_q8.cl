// Dynamic per-token symmetric int8 activation quantization (W4A8; docs/formats.md §3 "INT"):
// a = max|x| over the row, s = fp32(a / 127), q = clamp(RNE(fp32(x / s)), -128, 127); a = 0 gives
// s = 0, q = 0. Writes the codes q [M, K] and the scales s [M], bit-exact with the contract.
// Needs fp8_helpers.cl. One work-group of 256 per row: the max is a work-group reduction. With
// vec (the host checked K % 4 == 0 and a 4-aligned x offset) each lane moves 4 elements per load:
// one row is short work for a GPU, so the loop trip count is its latency.
#define W4A8_QUANT_LWS 256

// RNE(fp32(v / s)): `/` may be 2.5 ulp off, which only matters when the quotient lies within a few
// ulp of a half-integer (where rint could go either way); there the correctly rounded quotient
// decides. |v / s| <= 127 + a few ulp, so 2^-12 is far more than those ulps.
inline float w4a8_round_quotient(float v, float s) {
  const float r = v / s;
  const float frac = r - floor(r);
  return fabs(frac - 0.5f) > 0x1p-12f ? rint(r) : rint(incq_div_rn(v, s));
}

__kernel __attribute__((reqd_work_group_size(W4A8_QUANT_LWS, 1, 1)))
void w4a8_quantize_act_q8(__global const uchar* x, ulong x_off, int x_dtype, __global char* xq,
                          __global float* xs, int K, int vec) {
  __local float red[W4A8_QUANT_LWS];
  const int lid = get_local_id(0);
  const int m = get_group_id(0);
  const size_t row = x_off + (size_t)m * K;
  float a = 0.0f;
  if (vec) {
    for (int k = lid * 4; k < K; k += W4A8_QUANT_LWS * 4) {
      const float4 v = fabs(incq_load_f4v(x, x_dtype, row + k));
      a = fmax(a, fmax(fmax(v.x, v.y), fmax(v.z, v.w)));
    }
  } else {
    for (int k = lid; k < K; k += W4A8_QUANT_LWS) a = fmax(a, fabs(incq_load_f(x, x_dtype, row + k)));
  }
  red[lid] = a;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int half_n = W4A8_QUANT_LWS / 2; half_n > 0; half_n /= 2) {
    if (lid < half_n) red[lid] = fmax(red[lid], red[lid + half_n]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float s = incq_div_rn_pos(red[0], 127.0f);
  __global char* out = xq + (size_t)m * K;
  if (vec) {
    for (int k = lid * 4; k < K; k += W4A8_QUANT_LWS * 4) {
      const float4 v = incq_load_f4v(x, x_dtype, row + k);
      float4 q = (float4)(0.0f);
      if (s != 0.0f) {
        q = (float4)(w4a8_round_quotient(v.x, s), w4a8_round_quotient(v.y, s), w4a8_round_quotient(v.z, s),
                     w4a8_round_quotient(v.w, s));
        q = clamp(q, -128.0f, 127.0f);
      }
      vstore4(convert_char4(convert_int4(q)), 0, out + k);
    }
  } else {
    for (int k = lid; k < K; k += W4A8_QUANT_LWS) {
      const float v = incq_load_f(x, x_dtype, row + k);
      out[k] = s == 0.0f ? (char)0 : (char)(int)clamp(w4a8_round_quotient(v, s), -128.0f, 127.0f);
    }
  }
  if (lid == 0) xs[m] = s;
}
