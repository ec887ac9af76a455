// Shared by every inc_xpu program: activation loads/stores for the dtype the program is built for.
// ACT_DTYPE is the incq_dtype value (1 F32, 2 F16, 3 BF16), set with -DACT_DTYPE=... at build time.
// f16 goes through vload_half / vstore_half_rte, which OpenCL 1.2 has without cl_khr_fp16; bf16 is
// the upper half of an f32, rounded to nearest even on store.
#ifndef ACT_DTYPE
#define ACT_DTYPE 1
#endif
#ifdef INCQ_XPU_SELF_TEST_BUILD_ERROR
#error "inc_xpu self-test: build failure requested through build_options"
#endif

#if ACT_DTYPE == 1
typedef float act_t;
#elif ACT_DTYPE == 2 || ACT_DTYPE == 3
typedef ushort act_t;
#else
#error "ACT_DTYPE must be 1 (F32), 2 (F16) or 3 (BF16)"
#endif

inline float xpu_bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }

inline ushort xpu_f32_to_bf16(float v) {
  uint u = as_uint(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40u);  // quiet NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return (ushort)(u >> 16);
}

inline float xpu_load_act(global const act_t* p, uint i) {
#if ACT_DTYPE == 1
  return p[i];
#elif ACT_DTYPE == 2
  return vload_half(i, (global const half*)p);
#else
  return xpu_bf16_to_f32(p[i]);
#endif
}

inline void xpu_store_act(global act_t* p, uint i, float v) {
#if ACT_DTYPE == 1
  p[i] = v;
#elif ACT_DTYPE == 2
  vstore_half_rte(v, i, (global half*)p);
#else
  p[i] = xpu_f32_to_bf16(v);
#endif
}

// A value stored in dtype `dtype` (F32/F16/BF16) at element i of raw bytes p: biases keep their
// checkpoint dtype on the device.
inline float xpu_load_typed(global const uchar* p, uint i, int dtype) {
  if (dtype == 1) return ((global const float*)p)[i];
  if (dtype == 2) return vload_half(i, (global const half*)p);
  return xpu_bf16_to_f32(((global const ushort*)p)[i]);
}
