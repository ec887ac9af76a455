// MX activation quantization (docs/formats.md §3 "MX_FP" / "MX_INT", AutoRound quant_mx): per
// group of a row, E = floor(log2 max|x|) - emax (max 0: 1 - emax), clamped to [-127, 127];
// q = the element grid value nearest x / 2^E after clamping to the element's max; writes
// x' = q * 2^E, which is exact in fp32 (q has at most 4 significant bits for E2M1 / e4m3 / int4).
// elem: 0 E2M1 (emax 2), 1 e4m3 (emax 8), 2 MX_INT with `int_bits` bits (emax 0, step 2^-(bits-2)).
// Needs fp8_helpers.cl. One work-item per (group, row), a 1-D range of M * ceil(K / group).
__kernel void mx_quantize_act_f32(__global const uchar* x, ulong x_off, int x_dtype, __global float* xq,
                                  int M, int K, int group, int elem, int int_bits) {
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
  const int emax = elem == 0 ? 2 : (elem == 1 ? 8 : 0);
  // ilogb is exact floor(log2 a) for a finite a > 0 (the contract's frexp, not a rounded log2).
  const int e = clamp((a == 0.0f ? 1 : ilogb(a)) - emax, -127, 127);
  const float step = elem == 2 ? ldexp(1.0f, int_bits - 2) : 1.0f;  // MX_INT: grid 2^-(bits-2)
  const float int_max = elem == 2 ? ((float)((1 << (int_bits - 1)) - 1)) / step : 0.0f;
  for (int k = k0; k < k1; ++k) {
    const float t = ldexp(incq_load_f(x, x_dtype, row + k), -e);
    float q;
    if (elem == 0) {
      q = incq_round_e2m1(t);
    } else if (elem == 1) {
      q = incq_e4m3_to_f32(incq_f32_to_e4m3(t));  // saturating at 448
    } else {
      q = clamp(rint(t * step) / step, -int_max, int_max);
    }
    xq[(size_t)m * K + k] = ldexp(q, e);
  }
}
