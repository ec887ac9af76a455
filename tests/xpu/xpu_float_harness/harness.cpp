// Stand-alone check of the float-format OpenCL kernels (kernels_cl/fp8_*, mx_*, nv_*, w4a8_*) on
// the first OpenCL device, against the host's oracle (host_stub/quant), before the inc_xpu glue
// exists. Prints one line per case and exits non-zero on any mismatch.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <immintrin.h>

#include "quant/act_quant.hpp"
#include "quant/dequantize.hpp"
#include "quant/fp8_weights.hpp"
#include "quant/int_weights.hpp"
#include "quant/mx_weights.hpp"
#include "quant/nv_weights.hpp"
#include "quant/oracle.hpp"
#include "quant/rtn.hpp"

namespace q = incq::host::quant;

namespace {

int g_failures = 0;
cl_context g_ctx;
cl_command_queue g_queue;
cl_program g_prog;

#define CK(e)                                                                 \
  do {                                                                        \
    cl_int err_ = (e);                                                        \
    if (err_ != CL_SUCCESS) {                                                 \
      std::fprintf(stderr, "%s:%d: OpenCL error %d\n", __FILE__, __LINE__, err_); \
      std::exit(2);                                                           \
    }                                                                         \
  } while (0)

std::string read_file(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

cl_mem buf(const void* data, size_t bytes) {
  cl_int err;
  cl_mem m = clCreateBuffer(g_ctx, CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0), bytes ? bytes : 1,
                            const_cast<void*>(data), &err);
  CK(err);
  return m;
}

template <class T>
std::vector<T> read_buf(cl_mem m, size_t n) {
  std::vector<T> v(n);
  CK(clEnqueueReadBuffer(g_queue, m, CL_TRUE, 0, n * sizeof(T), v.data(), 0, nullptr, nullptr));
  return v;
}

struct Args {
  cl_kernel k;
  cl_uint i = 0;
  template <class T>
  Args& operator<<(const T& v) {
    CK(clSetKernelArg(k, i++, sizeof(T), &v));
    return *this;
  }
};

cl_kernel kernel(const char* name) {
  cl_int err;
  cl_kernel k = clCreateKernel(g_prog, name, &err);
  CK(err);
  return k;
}

void run(cl_kernel k, size_t g0, size_t g1, size_t l0) {
  size_t gs[2] = {g0, g1};
  size_t ls[2] = {l0, 1};
  CK(clEnqueueNDRangeKernel(g_queue, k, 2, nullptr, gs, l0 ? ls : nullptr, 0, nullptr, nullptr));
  CK(clFinish(g_queue));
}

uint16_t f32_to_bf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
float bf16_to_f32(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}
uint16_t f32_to_f16(float v) { return _cvtss_sh(v, 0); }
float f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

// x as the activation dtype: bytes on the device and the exact values (what the oracle sees).
struct Act {
  std::vector<uint8_t> bytes;
  std::vector<double> values;
};
Act make_act(int dtype, int64_t M, int64_t K, std::mt19937& rng, bool zero_row) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Act a;
  a.values.resize(M * K);
  a.bytes.resize(M * K * (dtype == INCQ_DTYPE_F32 ? 4 : 2));
  for (int64_t i = 0; i < M * K; ++i) {
    float v = nd(rng) * (1.0f + static_cast<float>(i % 7));
    if (zero_row && i / K == M - 1) v = 0.0f;
    if (dtype == INCQ_DTYPE_F32) {
      std::memcpy(&a.bytes[i * 4], &v, 4);
      a.values[i] = v;
    } else if (dtype == INCQ_DTYPE_BF16) {
      uint16_t b = f32_to_bf16(v);
      std::memcpy(&a.bytes[i * 2], &b, 2);
      a.values[i] = bf16_to_f32(b);
    } else {
      uint16_t h = f32_to_f16(v);
      std::memcpy(&a.bytes[i * 2], &h, 2);
      a.values[i] = f16_to_f32(h);
    }
  }
  return a;
}

double y_value(const std::vector<uint8_t>& y, int dtype, size_t i) {
  if (dtype == INCQ_DTYPE_F32) {
    float v;
    std::memcpy(&v, &y[i * 4], 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, &y[i * 2], 2);
  return dtype == INCQ_DTYPE_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

// |y - y_ref| <= tol * mag + rounding of y to its dtype.
void check_y(const char* what, const std::vector<uint8_t>& y, int dtype, const std::vector<double>& yref,
             const std::vector<double>& mag, double tol) {
  const double out_u = dtype == INCQ_DTYPE_F32 ? 0x1p-24 : dtype == INCQ_DTYPE_BF16 ? 0x1p-8 : 0x1p-11;
  double worst = 0.0;
  size_t bad = 0;
  for (size_t i = 0; i < yref.size(); ++i) {
    const double err = std::fabs(y_value(y, dtype, i) - yref[i]);
    const double bound = tol * mag[i] + out_u * (std::fabs(yref[i]) + tol * mag[i]) + 1e-30;
    worst = std::max(worst, err / bound);
    if (!(err <= bound)) ++bad;
  }
  std::printf("%-60s worst err/bound %.3f %s\n", what, worst, bad ? "FAIL" : "ok");
  if (bad) ++g_failures;
}

const double kTol = 1e-4;
const std::pair<int, int> kTiles[] = {{4, 1}, {8, 1}, {16, 1}, {8, 4}, {16, 4}, {4, 8}, {8, 8}};  // the kernels' stated tolerance (fp32 accumulation; see glue)

std::vector<float> random_w(int64_t N, int64_t K, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 0.05f);
  std::vector<float> w(N * K);
  for (auto& v : w) v = nd(rng);
  for (int64_t k = 0; k < K; ++k) w[(N / 2) * K + k] = 0.0f;  // one zero row of W
  return w;
}

const q::PackedTensor& find(const std::vector<q::PackedTensor>& ts, const char* name) {
  for (const auto& t : ts) {
    if (t.name == name) return t;
  }
  std::fprintf(stderr, "no tensor %s\n", name);
  std::exit(2);
}

incq_scheme base_scheme(int family, int bits) {
  incq_scheme s{};
  s.struct_size = sizeof(s);
  s.family = family;
  s.bits = bits;
  s.sym = 1;
  s.act_bits = 16;
  s.act_group_size = -1;
  s.act_sym = 1;
  return s;
}

// x' of the scheme's activation quantization: oracle (double) vs kernel (fp32 scratch).
std::vector<double> act_quant_check(const char* what, const incq_scheme& s, const Act& a, int x_dtype, int64_t M,
                                    int64_t K, double global, cl_mem* xq_out) {
  std::vector<double> xr(M * K);
  q::quantize_activations(s, a.values.data(), M, K, global, xr.data());
  cl_mem x = buf(a.bytes.data(), a.bytes.size());
  cl_mem xq = buf(nullptr, M * K * 4);
  const int group = s.act_group_size > 0 ? s.act_group_size : static_cast<int>(K);
  const int ng = static_cast<int>((K + group - 1) / group);
  const cl_ulong off = 0;
  const int Mi = static_cast<int>(M), Ki = static_cast<int>(K);
  cl_kernel k;
  if (s.act_family == INCQ_FAMILY_FP8) {
    k = kernel("fp8_quantize_act_e4m3_f32");
    Args{k} << x << off << x_dtype << xq << Mi << Ki << group;
  } else if (s.act_family == INCQ_FAMILY_NV_FP) {
    k = kernel("nv_quantize_act_e2m1_f32");
    const float g = static_cast<float>(global);
    Args{k} << x << off << x_dtype << xq << Mi << Ki << group << g;
  } else {
    k = kernel("mx_quantize_act_f32");
    const int elem = s.act_family == INCQ_FAMILY_MX_INT ? 2 : (s.act_bits == 4 ? 0 : 1);
    const int bits = s.act_bits;
    Args{k} << x << off << x_dtype << xq << Mi << Ki << group << elem << bits;
  }
  run(k, ((ng * M + 63) / 64) * 64, 1, 64);
  auto got = read_buf<float>(xq, M * K);
  size_t bad = 0;
  for (int64_t i = 0; i < M * K; ++i) {
    if (got[i] != static_cast<float>(xr[i])) {
      if (bad < 3) std::printf("   x'[%lld] kernel %.9g oracle %.9g (x %.9g)\n", (long long)i, got[i], xr[i], a.values[i]);
      ++bad;
    }
  }
  std::printf("%-60s %zu mismatches %s\n", what, bad, bad ? "FAIL" : "ok");
  if (bad) ++g_failures;
  clReleaseKernel(k);
  clReleaseMemObject(x);
  *xq_out = xq;
  return xr;
}

void oracle(const std::vector<double>& x, int64_t M, int64_t K, const std::vector<double>& W, int64_t N,
            const std::vector<double>* bias, std::vector<double>* y, std::vector<double>* mag) {
  y->assign(M * N, 0.0);
  mag->assign(M * N, 0.0);
  q::oracle_linear(x.data(), M, K, W.data(), N, bias ? bias->data() : nullptr, y->data(), mag->data());
}

// ---------------------------------------------------------------- FP8

void fp8_case(int wdt, int packing, int group, int bn, int bk, int act_bits, int x_dtype, int64_t M, int64_t N,
              int64_t K, std::mt19937& rng) {
  incq_scheme s = base_scheme(INCQ_FAMILY_FP8, 8);
  s.packing = packing;
  s.weight_dtype = wdt;
  s.group_size = group;
  s.block_n = bn;
  s.block_k = bk;
  if (act_bits == 8) {
    s.act_bits = 8;
    s.act_family = INCQ_FAMILY_FP8;
    s.act_dynamic = 1;
    s.act_group_size = 32;
  }
  auto w = random_w(N, K, rng);
  for (int64_t k = 0; k < K; ++k) w[k] = -w[k] * 3.0f;  // a larger first row: scales differ by row
  auto ts = q::quantize_fp8(w.data(), N, K, s);
  const auto& wt = find(ts, "weight");
  const auto& st = find(ts, packing == INCQ_PACKING_FP8_BLOCK ? "weight_scale_inv" : "weight_scale");
  auto W = q::dequantize_fp8("h", q::tensor_view(wt), q::tensor_view(st), s, K, N);
  Act a = make_act(x_dtype, M, K, rng, true);
  std::vector<uint16_t> bias(N);
  std::vector<double> bias_d(N);
  for (int64_t n = 0; n < N; ++n) {
    bias[n] = f32_to_bf16(0.25f * static_cast<float>(n % 5) - 0.5f);
    bias_d[n] = bf16_to_f32(bias[n]);
  }
  char what[200];
  std::snprintf(what, sizeof what, "fp8 %s pk%d g%d b%dx%d a%d xdt%d M%lld N%lld K%lld", wdt == INCQ_DTYPE_F8_E5M2 ? "e5m2" : "e4m3",
                packing, group, bn, bk, act_bits, x_dtype, (long long)M, (long long)N, (long long)K);
  std::vector<double> xr = a.values;
  cl_mem x;
  int xdt = x_dtype;
  if (act_bits == 8) {
    std::string w2 = std::string(what) + " act-quant";
    xr = act_quant_check(w2.c_str(), s, a, x_dtype, M, K, 0.0, &x);
    xdt = INCQ_DTYPE_F32;
  } else {
    x = buf(a.bytes.data(), a.bytes.size());
  }
  std::vector<double> yref, mag;
  oracle(xr, M, K, W, N, &bias_d, &yref, &mag);
  // scale grid
  int rps = 1, cps = 1, scols = 1;
  if (packing == INCQ_PACKING_FP8_BLOCK) {
    rps = bn;
    cps = bk;
    scols = static_cast<int>((K + bk - 1) / bk);
  } else if (group == 0) {
    rps = static_cast<int>(N);
    cps = static_cast<int>(K);
  } else if (group == -1) {
    cps = static_cast<int>(K);
  } else {
    cps = group;
    scols = static_cast<int>((K + group - 1) / group);
  }
  const int vec = (K % 8 == 0) && (cps % 8 == 0 || cps >= K);
  cl_mem wb = buf(wt.bytes.data(), wt.bytes.size());
  cl_mem sb = buf(st.bytes.data(), st.bytes.size());
  cl_mem bb = buf(bias.data(), N * 2);
  const int ydt = x_dtype;
  cl_mem yb = buf(nullptr, M * N * 4);
  const int e5 = wdt == INCQ_DTYPE_F8_E5M2;
  for (auto [R, T] : kTiles) {
    cl_kernel k = kernel(("fp8_f32_gemm_" + std::to_string(R) + "x" + std::to_string(T) + "_k128").c_str());
    const cl_ulong off = 0;
    const int sdt = st.dtype, bdt = INCQ_DTYPE_BF16, Mi = (int)M, Ni = (int)N, Ki = (int)K;
    Args{k} << wb << sb << sdt << rps << cps << scols << bb << bdt << x << off << xdt << yb << off << ydt << Mi
            << Ni << Ki << e5 << vec;
    run(k, ((N + R - 1) / R) * ((M + T - 1) / T) * 128, 1, 128);
    auto y = read_buf<uint8_t>(yb, M * N * (ydt == INCQ_DTYPE_F32 ? 4 : 2));
    std::string w2 = std::string(what) + (" " + std::to_string(R) + "x" + std::to_string(T)) + (vec ? " vec" : " scalar");
    check_y(w2.c_str(), y, ydt, yref, mag, kTol);
    clReleaseKernel(k);
  }
  for (cl_mem m : {x, wb, sb, bb, yb}) clReleaseMemObject(m);
}

// ---------------------------------------------------------------- MX / NV

void mx_case(int family, int bits, int act_bits, int x_dtype, int64_t M, int64_t N, int64_t K, std::mt19937& rng) {
  const bool nv = family == INCQ_FAMILY_NV_FP;
  incq_scheme s = base_scheme(family, bits);
  s.packing = INCQ_PACKING_LLM_COMPRESSOR;
  s.group_size = nv ? 16 : 32;
  s.weight_dtype = bits == 8 ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8;
  if (act_bits < 16) {
    s.act_bits = act_bits;
    s.act_family = family;
    s.act_dynamic = 1;
    s.act_group_size = s.group_size;
  }
  auto w = random_w(N, K, rng);
  for (int64_t k = 0; k < K; ++k) w[k] = -w[k] * 300.0f;
  const float in_gs = 2688.0f / 17.0f;
  auto ts = nv ? q::quantize_nvfp4(w.data(), N, K, s, in_gs) : q::quantize_mx(w.data(), N, K, s);
  const auto& wt = find(ts, q::float_weight_tensor_name(s));
  const auto& st = find(ts, "weight_scale");
  std::vector<double> W;
  float wgs = 0.0f;
  if (nv) {
    const auto& gt = find(ts, "weight_global_scale");
    std::memcpy(&wgs, gt.bytes.data(), 4);
    W = q::dequantize_nvfp4("h", q::tensor_view(wt), q::tensor_view(st), q::tensor_view(gt), s, K, N);
  } else {
    W = q::dequantize_mx("h", q::tensor_view(wt), q::tensor_view(st), s, K, N);
  }
  Act a = make_act(x_dtype, M, K, rng, true);
  char what[200];
  std::snprintf(what, sizeof what, "%s%d a%d xdt%d M%lld N%lld K%lld",
                nv ? "nvfp" : (family == INCQ_FAMILY_MX_INT ? "mxint" : "mxfp"), bits, act_bits, x_dtype,
                (long long)M, (long long)N, (long long)K);
  std::vector<double> xr = a.values;
  cl_mem x;
  int xdt = x_dtype;
  if (act_bits < 16) {
    std::string w2 = std::string(what) + " act-quant";
    xr = act_quant_check(w2.c_str(), s, a, x_dtype, M, K, in_gs, &x);
    xdt = INCQ_DTYPE_F32;
  } else {
    x = buf(a.bytes.data(), a.bytes.size());
  }
  std::vector<double> yref, mag;
  oracle(xr, M, K, W, N, nullptr, &yref, &mag);
  const int elem = nv ? 3 : (bits == 8 ? 1 : (family == INCQ_FAMILY_MX_INT ? 2 : 0));
  const float inv_g = wgs == 0.0f ? 0.0f : static_cast<float>(1.0 / wgs);
  cl_mem wb = buf(wt.bytes.data(), wt.bytes.size());
  cl_mem sb = buf(st.bytes.data(), st.bytes.size());
  cl_mem yb = buf(nullptr, M * N * 4);
  const int ydt = x_dtype;
  for (auto [R, T] : kTiles) {
    for (int vec : {1, 0}) {
      cl_kernel k = kernel(("mx_f32_gemm_" + std::to_string(R) + "x" + std::to_string(T) + "_k128").c_str());
      const cl_ulong off = 0;
      const int group = s.group_size, bdt = 0, Mi = (int)M, Ni = (int)N, Ki = (int)K;
      Args{k} << wb << sb << elem << group << inv_g << wb << bdt << x << off << xdt << yb << off << ydt << Mi << Ni
              << Ki << vec;
      run(k, ((N + R - 1) / R) * ((M + T - 1) / T) * 128, 1, 128);
      auto y = read_buf<uint8_t>(yb, M * N * (ydt == INCQ_DTYPE_F32 ? 4 : 2));
      std::string w2 = std::string(what) + (" " + std::to_string(R) + "x" + std::to_string(T)) + (vec ? " vec" : " scalar");
      check_y(w2.c_str(), y, ydt, yref, mag, kTol);
      clReleaseKernel(k);
    }
  }
  for (cl_mem m : {x, wb, sb, yb}) clReleaseMemObject(m);
}

// ---------------------------------------------------------------- W4A8

void w4a8_case(int group, int x_dtype, int64_t M, int64_t N, int64_t K, std::mt19937& rng) {
  auto w_nk = random_w(N, K, rng);
  std::vector<float> w_kn(K * N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w_kn[k * N + n] = w_nk[n * K + k] * (n % 3 == 0 ? 4.0f : 1.0f);
  q::IntWeights iw = q::quantize_rtn(w_kn.data(), K, N, 4, group, true);
  auto W = q::dequantize(iw);
  // device layout: codes [N, K/2] (element 2j low nibble), scales F16 [N, K/G]
  const int64_t G = K / group;
  std::vector<uint8_t> packed(N * K / 2);
  std::vector<uint16_t> sc(N * G);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      const int64_t j = k % 8, slot = j < 4 ? 2 * j : 2 * (j - 4) + 1;
      packed[n * K / 2 + (k / 8) * 4 + slot / 2] |= static_cast<uint8_t>(iw.q[k * N + n] << (4 * (slot & 1)));
    }
    for (int64_t g = 0; g < G; ++g) sc[n * G + g] = iw.scales[g * N + n];
  }
  incq_scheme s = base_scheme(INCQ_FAMILY_INT, 4);
  s.act_bits = 8;
  s.act_family = INCQ_FAMILY_INT;
  s.act_dynamic = 1;
  s.group_size = group;
  Act a = make_act(x_dtype, M, K, rng, true);
  std::vector<double> xr(M * K);
  q::quantize_activations(s, a.values.data(), M, K, 0.0, xr.data());
  char what[200];
  std::snprintf(what, sizeof what, "w4a8 g%d xdt%d M%lld N%lld K%lld", group, x_dtype, (long long)M, (long long)N,
                (long long)K);
  cl_mem x = buf(a.bytes.data(), a.bytes.size());
  cl_mem xq = buf(nullptr, M * K);
  cl_mem xs = buf(nullptr, M * 4);
  {
    cl_kernel k = kernel("w4a8_quantize_act_q8");
    const cl_ulong off = 0;
    const int Ki = (int)K;
    for (int vec : {0, 1}) {
    Args{k} << x << off << x_dtype << xq << xs << Ki << vec;
    run(k, M * 256, 1, 256);
    auto qv = read_buf<int8_t>(xq, M * K);
    auto sv = read_buf<float>(xs, M);
    size_t bad = 0;
    for (int64_t i = 0; i < M * K; ++i) {
      if (static_cast<double>(qv[i]) * static_cast<double>(sv[i / K]) != xr[i]) ++bad;
    }
    std::printf("%-60s %zu mismatches %s\n", (std::string(what) + " act-quant vec " + std::to_string(vec)).c_str(), bad, bad ? "FAIL" : "ok");
    if (bad) ++g_failures;
    }
    clReleaseKernel(k);
  }
  std::vector<double> yref, mag;
  oracle(xr, M, K, W, N, nullptr, &yref, &mag);
  cl_mem wb = buf(packed.data(), packed.size());
  cl_mem sb = buf(sc.data(), sc.size() * 2);
  cl_mem yb = buf(nullptr, M * N * 4);
  for (auto [R, T] : kTiles) {
    cl_kernel k = kernel(("w4a8_qd8_f32_qc4w_gemm_" + std::to_string(R) + "x" + std::to_string(T) + "_k128").c_str());
    const cl_ulong off = 0;
    const int bdt = 0, Mi = (int)M, Ni = (int)N, Ki = (int)K, ydt = x_dtype;
    Args{k} << wb << sb << group << wb << bdt << xq << xs << yb << off << ydt << Mi << Ni << Ki;
    run(k, ((N + R - 1) / R) * ((M + T - 1) / T) * 128, 1, 128);
    auto y = read_buf<uint8_t>(yb, M * N * (ydt == INCQ_DTYPE_F32 ? 4 : 2));
    check_y((std::string(what) + (" " + std::to_string(R) + "x" + std::to_string(T))).c_str(), y, ydt, yref, mag, kTol);
    clReleaseKernel(k);
  }
  for (cl_mem m : {x, xq, xs, wb, sb, yb}) clReleaseMemObject(m);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "kernels_cl";
  cl_platform_id plat;
  CK(clGetPlatformIDs(1, &plat, nullptr));
  cl_device_id dev;
  CK(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, nullptr));
  cl_int err;
  g_ctx = clCreateContext(nullptr, 1, &dev, nullptr, nullptr, &err);
  CK(err);
  g_queue = clCreateCommandQueue(g_ctx, dev, 0, &err);
  CK(err);
  std::string src;
  for (const char* f : {"fp8_helpers.cl", "fp8_quantize_act_e4m3_f32.cl", "fp8_f32_gemm_RxT_k128.cl",
                        "mx_quantize_act_f32.cl", "nv_quantize_act_e2m1_f32.cl", "mx_f32_gemm_RxT_k128.cl",
                        "w4a8_quantize_act_q8.cl", "w4a8_qd8_f32_qc4w_gemm_RxT_k128.cl", "fp8_f32_moe_RxT_k128.cl", "mx_f32_moe_RxT_k128.cl", "w4a8_qd8_f32_qc4w_moe_RxT_k128.cl"}) {
    src += read_file(dir + "/" + f) + "\n";
  }
  const char* p = src.c_str();
  g_prog = clCreateProgramWithSource(g_ctx, 1, &p, nullptr, &err);
  CK(err);
  const std::string opts = std::string("-cl-std=CL1.2 -DINCQ_XPU_ALL_TILES ") + (std::getenv("XF_BUILD_OPTIONS") ? std::getenv("XF_BUILD_OPTIONS") : "");
  std::printf("build options: %s\n", opts.c_str());
  if (clBuildProgram(g_prog, 1, &dev, opts.c_str(), nullptr, nullptr) != CL_SUCCESS) {
    size_t n;
    clGetProgramBuildInfo(g_prog, dev, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
    std::string log(n, '\0');
    clGetProgramBuildInfo(g_prog, dev, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
    std::fprintf(stderr, "build failed:\n%s\n", log.c_str());
    return 2;
  }
  std::mt19937 rng(7);
  const int e4 = INCQ_DTYPE_F8_E4M3, e5 = INCQ_DTYPE_F8_E5M2;
  const int f32 = INCQ_DTYPE_F32, bf16 = INCQ_DTYPE_BF16, f16 = INCQ_DTYPE_F16;
  fp8_case(e4, INCQ_PACKING_FP8, 0, 0, 0, 16, f32, 3, 37, 160, rng);
  fp8_case(e4, INCQ_PACKING_FP8, -1, 0, 0, 16, bf16, 9, 37, 160, rng);
  fp8_case(e5, INCQ_PACKING_FP8, 32, 0, 0, 16, f16, 1, 37, 160, rng);
  fp8_case(e4, INCQ_PACKING_FP8, 48, 0, 0, 16, f32, 2, 19, 100, rng);
  fp8_case(e4, INCQ_PACKING_FP8, -1, 0, 0, 16, f32, 7, 21, 99, rng);
  fp8_case(e4, INCQ_PACKING_FP8_BLOCK, 0, 16, 32, 16, bf16, 3, 37, 160, rng);
  fp8_case(e4, INCQ_PACKING_FP8_BLOCK, 0, 16, 32, 8, bf16, 9, 37, 160, rng);
  fp8_case(e4, INCQ_PACKING_FP8_BLOCK, 0, 128, 128, 8, f32, 2, 130, 200, rng);
  for (int xdt : {f32, bf16}) {
    mx_case(INCQ_FAMILY_MX_FP, 4, 16, xdt, 3, 37, 160, rng);
    mx_case(INCQ_FAMILY_MX_FP, 4, 4, xdt, 9, 37, 160, rng);
    mx_case(INCQ_FAMILY_MX_FP, 8, 8, xdt, 2, 19, 96, rng);
    mx_case(INCQ_FAMILY_MX_INT, 4, 4, xdt, 1, 19, 96, rng);
    mx_case(INCQ_FAMILY_NV_FP, 4, 4, xdt, 7, 37, 160, rng);
    mx_case(INCQ_FAMILY_NV_FP, 4, 16, xdt, 2, 37, 48, rng);
  }
  w4a8_case(32, f32, 1, 40, 160, rng);
  w4a8_case(32, bf16, 9, 40, 1024 + 64, rng);
  w4a8_case(64, f16, 3, 24, 128, rng);
  std::printf("%d failures\n", g_failures);
  return g_failures ? 1 : 0;
}
