// Dynamic symmetric e4m3 activation quantization (FP8 block W8A8; docs/formats.md §3 "FP8"):
// per group of `group` consecutive elements of a row (the last one shorter), a = max|x|,
// s = max(fp32(a / 448), fp32(1 / (448*512))), q = e4m3(fp32(x / s)); writes x' = fp32(q * s).
// The codes and scales are the contract's bit for bit; x' carries one more fp32 rounding (q has 4
// significant bits, s 24), which the matmul's stated tolerance covers.
// Needs fp8_helpers.cl. One work-item per (group, row), a 1-D range of M * ceil(K / group): groups are short (AutoRound: 128).
__kernel void fp8_quantize_act_e4m3_f32(__global const uchar* x, ulong x_off, int x_dtype,
                                        __global float* xq, int M, int K, int group) {
  const int ng = (K + group - 1) / group;
  const int id = get_global_id(0);
  if (id >= ng * M) return;
  const int g = id % ng;
  const int m = id / ng;
  const size_t row = x_off + (size_t)m * K;
  const int k0 = g * group;
  const int k1 = min(K, k0 + group);
  float a = 0.0f;
  for (int k = k0; k < k1; ++k) a = fmax(a, fabs(incq_load_f(x, x_dtype, row + k)));
  const float s = fmax(incq_div_rn_pos(a, 448.0f), 0x1p-9f / 448.0f);  // 1/(448*512) = 2^-9/448
  for (int k = k0; k < k1; ++k) {
    const float q = incq_e4m3_to_f32(incq_f32_to_e4m3(incq_div_rn(incq_load_f(x, x_dtype, row + k), s)));
    xq[(size_t)m * K + k] = q * s;
  }
}
