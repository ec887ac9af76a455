// Dynamic per-token symmetric int8 activation quantization (W4A8; docs/formats.md §3 "INT"):
// a = max|x| over the row, s = fp32(a / 127), q = clamp(RNE(fp32(x / s)), -128, 127); a = 0 gives
// s = 0, q = 0. Writes the codes q [M, K] and the scales s [M], bit-exact with the contract.
// Needs fp8_helpers.cl. One work-group of 64 per row: the max is a work-group reduction.
#define W4A8_QUANT_LWS 64
__kernel __attribute__((reqd_work_group_size(W4A8_QUANT_LWS, 1, 1)))
void w4a8_quantize_act_q8(__global const uchar* x, ulong x_off, int x_dtype, __global char* xq,
                          __global float* xs, int K) {
  __local float red[W4A8_QUANT_LWS];
  const int lid = get_local_id(0);
  const int m = get_group_id(0);
  const size_t row = x_off + (size_t)m * K;
  float a = 0.0f;
  for (int k = lid; k < K; k += W4A8_QUANT_LWS) a = fmax(a, fabs(incq_load_f(x, x_dtype, row + k)));
  red[lid] = a;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int half_n = W4A8_QUANT_LWS / 2; half_n > 0; half_n /= 2) {
    if (lid < half_n) red[lid] = fmax(red[lid], red[lid + half_n]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float s = incq_div_rn_pos(red[0], 127.0f);
  for (int k = lid; k < K; k += W4A8_QUANT_LWS) {
    const float v = incq_load_f(x, x_dtype, row + k);
    const float q = s == 0.0f ? 0.0f : clamp(rint(incq_div_rn(v, s)), -128.0f, 127.0f);
    xq[(size_t)m * K + k] = (char)(int)q;
  }
  if (lid == 0) xs[m] = s;
}
