// NVFP4 activation quantization with a static global scale (docs/formats.md §3 "NV_FP", AutoRound
// ref_nvfp4_quant), every step one fp32 operation: a = max|x|; t = fp32(a * fp32(1/6));
// sb = e4m3(clamp(fp32(g * t), +-448)); d = fp32(sb * fp32(1/g)); o = d ? fp32(1/d) : 0;
// q = E2M1(clamp(fp32(x * o), +-6)); f = o ? fp32(1/o) : 0; writes x' = fp32(q * f) (AutoRound
// rounds this product to fp32 as well). g = input_global_scale, passed as its reciprocal too.
// Needs fp8_helpers.cl. One work-item per (group, row), a 1-D range of M * ceil(K / group).
__kernel void nv_quantize_act_e2m1_f32(__global const uchar* x, ulong x_off, int x_dtype, __global float* xq,
                                       int M, int K, int group, float g) {
  const int ng = (K + group - 1) / group;
  const int id = get_global_id(0);
  if (id >= ng * M) return;
  const int gi = id % ng;
  const int m = id / ng;
  const size_t row = x_off + (size_t)m * K;
  const int k0 = gi * group;
  const int k1 = min(K, k0 + group);
  float a = 0.0f;
  for (int k = k0; k < k1; ++k) a = fmax(a, fabs(incq_load_f(x, x_dtype, row + k)));
  const float sixth = 0x1.555556p-3f;  // fp32(1/6), as torch casts the Python scalar
  const float t = a * sixth;
  const float sb = incq_e4m3_to_f32(incq_f32_to_e4m3(clamp(g * t, -448.0f, 448.0f)));
  const float d = sb * incq_recip_or_zero(g);
  const float o = incq_recip_or_zero(d);
  const float f = incq_recip_or_zero(o);
  for (int k = k0; k < k1; ++k) {
    const float q = incq_round_e2m1(clamp(incq_load_f(x, x_dtype, row + k) * o, -6.0f, 6.0f));
    xq[(size_t)m * K + k] = q * f;
  }
}
