// Integer weight-only Linear: y[M,N] = x[M,K] . W + bias, one launch for any M (decode R=1, prefill
// R=8 rows per work-item so each dequantized weight is reused across 8 rows). Merged q/k/v and
// gate/up layers are one matrix whose columns are the partitions: one launch as well.
// Needs common_act_io.cl and int_wo_tile_f32acc.cl before it.

inline void int_wo_linear_body(const int B, const int R, global const act_t* x, const uint x_off,
                               global const uint* qw, global const ushort* scales, global const uint* zeros,
                               global const int* gidx, const int has_gidx, global const uchar* bias,
                               const int bias_dtype, global act_t* y, const uint y_off, const int M, const int N,
                               const int K, const int G, const int zero_add, local float* red) {
  const int n0 = get_global_id(0) * 4;
  const int m0 = get_group_id(2) * R;
  int rows[8];
  for (int r = 0; r < 8; ++r) rows[r] = (r < R && m0 + r < M) ? m0 + r : -1;
  float acc[8][4];
  int_wo_tile_acc(B, R, x, x_off, 0, rows, qw, scales, zeros, gidx, has_gidx, N, K, G, zero_add, n0, red, acc);
  if (get_local_id(1) != 0) return;
  for (int j = 0; j < 4; ++j) {
    const int n = n0 + j;
    if (n >= N) break;
    const float b = bias_dtype != 0 ? xpu_load_typed(bias, n, bias_dtype) : 0.0f;
    for (int r = 0; r < R; ++r)
      if (rows[r] >= 0) xpu_store_act(y, y_off + (uint)rows[r] * (uint)N + (uint)n, acc[r][j] + b);
  }
}

#define INT_WO_LINEAR_KERNEL(BITS, ROWS)                                                                     \
  __kernel void int_wo_linear_b##BITS##_r##ROWS(                                                             \
      global const act_t* x, uint x_off, global const uint* qw, global const ushort* scales,                  \
      global const uint* zeros, global const int* gidx, int has_gidx, global const uchar* bias,              \
      int bias_dtype, global act_t* y, uint y_off, int M, int N, int K, int G, int zero_add, local float* red) { \
    int_wo_linear_body(BITS, ROWS, x, x_off, qw, scales, zeros, gidx, has_gidx, bias, bias_dtype, y, y_off, M, N, \
                       K, G, zero_add, red);                                                                 \
  }

// One bit width per program (-DINT_BITS=...): a layer builds only the kernels it runs.
#ifndef INT_BITS
#error "build with -DINT_BITS=2|3|4|8"
#endif
#define INT_WO_LINEAR_KERNEL_EXPAND(BITS, ROWS) INT_WO_LINEAR_KERNEL(BITS, ROWS)  /* expands INT_BITS before ## */
INT_WO_LINEAR_KERNEL_EXPAND(INT_BITS, 1)
INT_WO_LINEAR_KERNEL_EXPAND(INT_BITS, 8)
