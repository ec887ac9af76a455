#include "fp8_float_device.hpp"

#include <cstring>
#include <vector>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu::flt {
namespace {

// Raw bytes of a validated, contiguous CPU tensor of the bundle.
std::vector<uint8_t> tensor_bytes(const incq_tensor& t, const std::string& what) {
  if (!is_contiguous(t) || t.data == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, what + " must be a contiguous CPU tensor");
  const uint8_t* p = static_cast<const uint8_t*>(t.data) + t.byte_offset;
  return std::vector<uint8_t>(p, p + static_cast<size_t>(numel(t)) * dtype_size(t.dtype));
}

void grow(DeviceBuffer& b, const Session& s, size_t bytes, const char* what) {
  if (b.get() == nullptr || b.bytes() < bytes) b = DeviceBuffer(s, bytes, what);
}

}  // namespace

ProgramSpec float_program_spec(const Session&) {
  ProgramSpec spec{{"fp8_helpers.cl", "fp8_quantize_act_e4m3_f32.cl", "fp8_f32_gemm_RxT_k128.cl",
                    "mx_quantize_act_f32.cl", "nv_quantize_act_e2m1_f32.cl", "mx_f32_gemm_RxT_k128.cl",
                    "w4a8_quantize_act_q8.cl", "w4a8_qd8_f32_qc4w_gemm_RxT_k128.cl", "fp8_f32_moe_RxT_k128.cl",
                    "mx_f32_moe_RxT_k128.cl", "w4a8_qd8_f32_qc4w_moe_RxT_k128.cl"},
                   ""};
  // W4A8 on NVIDIA can take dp4a through inline PTX (-DINCQ_NV_PTX_DP4A in the plugin option
  // build_options): 1.2-1.5x faster on an H100, but not yet checked bit-exact there, so not set here.
  return spec;
}

FloatImage image_fp8(const inc_cpu::Fp8Matrix& m, int32_t weight_dtype, inc_cpu::BundleTensors& tensors,
                     const std::string& prefix, const std::string& what) {
  FloatImage img;
  FloatFormat& f = img.f;
  f.kind = WeightKind::Fp8;
  f.K = m.K;
  f.N = m.N;
  f.e5m2 = weight_dtype == INCQ_DTYPE_F8_E5M2 ? 1 : 0;
  f.rows_per_scale = static_cast<int32_t>(m.rows_per_scale);
  f.cols_per_scale = static_cast<int32_t>(m.cols_per_scale);
  f.scale_cols = static_cast<int32_t>(m.scale_cols);
  // load_fp8_matrix validated whichever scale tensor the bundle holds; keep it as stored.
  const incq_tensor* sc = tensors.find(prefix + "weight_scale_inv");
  if (sc == nullptr) sc = tensors.find(prefix + "weight_scale");
  if (sc == nullptr) fail(INCQ_ERR_INTERNAL, what + ": scale tensor vanished after validation");
  f.scale_dtype = sc->dtype;
  img.scales = tensor_bytes(*sc, what + " scale");
  img.codes = m.codes;
  if (const incq_tensor* b = tensors.find(prefix + "bias")) {
    img.bias = tensor_bytes(*b, what + " bias");
    f.bias_dtype = b->dtype;
  }
  return img;
}

FloatImage image_mx(const inc_cpu::MxMatrix& m) {
  FloatImage img;
  FloatFormat& f = img.f;
  f.kind = WeightKind::Mx;
  f.K = m.K;
  f.N = m.N;
  switch (m.format.kind) {
    case inc_cpu::MxKind::MxFp4: f.elem = 0; break;
    case inc_cpu::MxKind::MxFp8: f.elem = 1; break;
    case inc_cpu::MxKind::MxInt4: f.elem = 2; break;
    case inc_cpu::MxKind::NvFp4: f.elem = 3; break;
  }
  f.group = static_cast<int32_t>(m.format.group);
  // w = e2m1 * scale / global: one fp32 reciprocal here and one product per block in the kernel
  // (two roundings, inside the stated tolerance). A zero global decodes to an all-zero W.
  f.inv_global = m.weight_global_scale > 0.0 ? static_cast<float>(1.0 / m.weight_global_scale) : 0.0f;
  img.codes = m.codes;
  img.scales = m.scales;
  if (!m.bias.empty()) {
    f.bias_dtype = m.bias_dtype;
    img.bias = m.bias;
  }
  return img;
}

FloatImage image_w4a8(const inc_cpu::IntWoMatrix& m) {
  FloatImage img;
  FloatFormat& f = img.f;
  f.kind = WeightKind::W4a8;
  f.K = m.K;
  f.N = m.N;
  f.group = static_cast<int32_t>(m.group_size);
  const int64_t K = m.K, N = m.N, G = m.num_groups;
  img.codes.assign(static_cast<size_t>(N * K / 2), 0);
  img.scales.resize(static_cast<size_t>(N * G) * 2);
  // Eight consecutive k per 32-bit word, nibbles in the order k0 k4 k1 k5 k2 k6 k3 k7 (the
  // kernel's masks then yield four consecutive codes per byte lane).
  for (int64_t k = 0; k < K; ++k) {
    const int64_t j = k % 8;
    const int64_t slot = j < 4 ? 2 * j : 2 * (j - 4) + 1;
    const int64_t byte = (k / 8) * 4 + slot / 2;
    const int shift = 4 * static_cast<int>(slot & 1);
    for (int64_t n = 0; n < N; ++n) {
      img.codes[static_cast<size_t>(n * (K / 2) + byte)] |= static_cast<uint8_t>((m.code_at(k, n) & 0xF) << shift);
    }
  }
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(&img.scales[static_cast<size_t>(n * G + g) * 2], &m.scales[static_cast<size_t>(g * N + n)], 2);
    }
  }
  if (!m.bias.empty()) {
    f.bias_dtype = m.bias_dtype;
    img.bias = m.bias;
  }
  return img;
}

FloatMatrix upload_matrix(const Session& s, const FloatImage& img, const std::string& what) {
  FloatMatrix w;
  w.f = img.f;
  w.codes = upload(s, img.codes, what + " weight");
  w.scales = upload(s, img.scales, what + " scales");
  if (!img.bias.empty()) w.bias = upload(s, img.bias, what + " bias");
  w.code_stride = img.codes.size();
  w.scale_stride = img.scales.size();
  w.resident = img.codes.size() + img.scales.size() + img.bias.size();
  return w;
}

FloatMatrix upload_stack(const Session& s, const std::vector<FloatImage>& imgs, const std::string& what) {
  if (imgs.empty()) fail(INCQ_ERR_INVALID_ARGUMENT, what + ": no experts");
  FloatImage all;
  all.f = imgs.front().f;
  for (const FloatImage& img : imgs) {
    const FloatFormat& a = img.f;
    const FloatFormat& b = all.f;
    if (a.K != b.K || a.N != b.N || a.scale_dtype != b.scale_dtype || a.inv_global != b.inv_global ||
        img.codes.size() != imgs.front().codes.size() || img.scales.size() != imgs.front().scales.size()) {
      fail(INCQ_ERR_UNSUPPORTED, what + ": experts differ in shape, scale dtype or global scale (one kernel "
                                        "layout serves every expert of a projection)");
    }
    if (!img.bias.empty()) fail(INCQ_ERR_UNSUPPORTED, what + ": expert biases are not supported by inc_xpu");
    all.codes.insert(all.codes.end(), img.codes.begin(), img.codes.end());
    all.scales.insert(all.scales.end(), img.scales.begin(), img.scales.end());
  }
  FloatMatrix w = upload_matrix(s, all, what);
  w.code_stride = imgs.front().codes.size();
  w.scale_stride = imgs.front().scales.size();
  return w;
}

ActStep act_step_of(const inc_cpu::LayerSpec& s, float nv_input_global) {
  ActStep a;
  if (s.act_bits >= 16) return a;
  a.group = s.act_group_size;
  switch (s.act_family) {
    case INCQ_FAMILY_FP8: a.kind = ActStep::Kind::Fp8; break;
    case INCQ_FAMILY_INT: a.kind = ActStep::Kind::Int8; break;
    case INCQ_FAMILY_MX_FP:
      a.kind = ActStep::Kind::Mx;
      a.elem = s.act_bits == 8 ? 1 : 0;
      break;
    case INCQ_FAMILY_MX_INT:
      a.kind = ActStep::Kind::Mx;
      a.elem = 2;
      a.int_bits = s.act_bits;
      break;
    case INCQ_FAMILY_NV_FP:
      a.kind = ActStep::Kind::Nv;
      a.global = nv_input_global;
      break;
    default:
      fail(INCQ_ERR_UNSUPPORTED, "layer '" + s.name + "': activation family " + std::to_string(s.act_family) +
                                     " has no device quantizer");
  }
  return a;
}

namespace {
// Tiles compiled into the program (kernels_cl/*_gemm_RxT_k128.cl) and the ones dispatch picks,
// fastest on an H100 at N x K = 4096 x 14336 (bench: tests/xpu/xpu_float_harness/bench.cpp):
// M = 1 8x1 for every format; M = 16 8x4 for FP8 (185 us vs 217 for 16x4, 223 for 8x8) and 8x8
// for W4A8 (167 us vs 178 for 8x4). MX/NV follow FP8 (same float decode-and-FMA loop).
constexpr int kTiles[][2] = {{8, 1}, {8, 4}, {8, 8}};
}  // namespace

FloatKernels make_float_kernels(cl_program program, WeightKind kind, const ActStep& act) {
  const std::string base = kind == WeightKind::Fp8 ? "fp8_f32_gemm_" : kind == WeightKind::Mx ? "mx_f32_gemm_"
                                                                                                : "w4a8_qd8_f32_qc4w_gemm_";
  FloatKernels k;
  for (const auto& t : kTiles) {
    k.gemm.push_back(
        GemmTile{t[0], t[1], Kernel(program, base + std::to_string(t[0]) + "x" + std::to_string(t[1]) + "_k128")});
  }
  switch (act.kind) {
    case ActStep::Kind::None: break;
    case ActStep::Kind::Fp8: k.quant = Kernel(program, "fp8_quantize_act_e4m3_f32"); break;
    case ActStep::Kind::Mx: k.quant = Kernel(program, "mx_quantize_act_f32"); break;
    case ActStep::Kind::Nv: k.quant = Kernel(program, "nv_quantize_act_e2m1_f32"); break;
    case ActStep::Kind::Int8: k.quant = Kernel(program, "w4a8_quantize_act_q8"); break;
  }
  return k;
}

const GemmTile& gemm_for_rows(const FloatKernels& k, WeightKind kind, int64_t M) {
  const int want_rows = 8;
  const int want_tokens = M == 1 ? 1 : (kind == WeightKind::W4a8 ? 8 : 4);
  for (const GemmTile& t : k.gemm) {
    if (t.rows == want_rows && t.tokens == want_tokens) return t;
  }
  fail(INCQ_ERR_INTERNAL, "inc_xpu: no " + std::to_string(want_rows) + "x" + std::to_string(want_tokens) + " matmul tile");
}

ActInput enqueue_act_quant(const Session& s, const ActStep& act, const Kernel& quant, ActScratch& scratch, cl_mem x,
                           uint64_t x_off, int32_t x_dtype, int64_t M, int64_t K) {
  ActInput in{x, x_off, x_dtype};
  if (act.kind == ActStep::Kind::None || M == 0) return in;
  const cl_int Mi = static_cast<cl_int>(M), Ki = static_cast<cl_int>(K), xdt = x_dtype;
  const cl_ulong x_off_arg = x_off;
  if (act.kind == ActStep::Kind::Int8) {
    grow(scratch.xq, s, static_cast<size_t>(M * K), "inc_xpu: int8 activations");
    grow(scratch.xs, s, static_cast<size_t>(M) * sizeof(float), "inc_xpu: activation scales");
    const cl_int vec = (K % 4 == 0) && (x_off % 4 == 0);
    ArgSetter{quant}(x)(x_off_arg)(xdt)(scratch.xq.get())(scratch.xs.get())(Ki)(vec);
    launch_kernel(s, quant, 1, {static_cast<size_t>(M) * 256, 1, 1}, {256, 1, 1});  // w4a8_quantize_act_q8: 256 per row
  } else {
    grow(scratch.xq, s, static_cast<size_t>(M * K) * sizeof(float), "inc_xpu: quantized activations");
    const cl_int group = act.group > 0 ? act.group : Ki;
    const size_t items = static_cast<size_t>((K + group - 1) / group) * static_cast<size_t>(M);
    ArgSetter a(quant);
    a(x)(x_off_arg)(xdt)(scratch.xq.get())(Mi)(Ki)(group);
    if (act.kind == ActStep::Kind::Mx) {
      const cl_int elem = act.elem, bits = act.int_bits;
      a(elem)(bits);
    } else if (act.kind == ActStep::Kind::Nv) {
      const cl_float g = act.global;
      a(g);
    }
    launch_kernel(s, quant, 1, {items, 1, 1}, {64, 1, 1});
  }
  return ActInput{scratch.xq.get(), 0, INCQ_DTYPE_F32};
}

void enqueue_float_matmul(const Session& s, const FloatMatrix& w, const ActStep& act, const FloatKernels& k,
                          ActScratch& scratch, cl_mem x, uint64_t x_off, int32_t x_dtype, cl_mem y, uint64_t y_off,
                          int32_t y_dtype, int64_t M) {
  if (M == 0) return;
  const cl_int Mi = static_cast<cl_int>(M), Ni = static_cast<cl_int>(w.f.N), Ki = static_cast<cl_int>(w.f.K);
  const ActInput in = enqueue_act_quant(s, act, k.quant, scratch, x, x_off, x_dtype, M, w.f.K);
  const cl_mem xin = in.mem;
  const cl_ulong xin_off = in.offset;
  const cl_int xin_dtype = in.dtype;
  const cl_ulong y_off_arg = y_off;
  const cl_int ydt = y_dtype;
  const GemmTile& tile = gemm_for_rows(k, w.f.kind, M);
  const int R = tile.rows, T = tile.tokens;
  const Kernel& g = tile.kernel;
  const size_t groups = static_cast<size_t>((w.f.N + R - 1) / R) * static_cast<size_t>((M + T - 1) / T);
  cl_mem bias = w.bias.get() != nullptr ? w.bias.get() : w.codes.get();  // any valid cl_mem when absent
  const cl_int bias_dtype = w.f.bias_dtype;
  switch (w.f.kind) {
    case WeightKind::Fp8: {
      // The 8-element steps need aligned rows and one scale per step; anything else runs the
      // element-wise path of the same kernel.
      const cl_int vec = (w.f.K % 8 == 0) && (xin_off % 4 == 0) && (w.f.cols_per_scale % 8 == 0 || w.f.cols_per_scale >= w.f.K);
      ArgSetter{g}(w.codes.get())(w.scales.get())(w.f.scale_dtype)(w.f.rows_per_scale)(w.f.cols_per_scale)(w.f.scale_cols)(bias)(
          bias_dtype)(xin)(xin_off)(xin_dtype)(y)(y_off_arg)(ydt)(Mi)(Ni)(Ki)(w.f.e5m2)(vec);
      break;
    }
    case WeightKind::Mx: {
      const cl_int vec = xin_off % 4 == 0;
      ArgSetter{g}(w.codes.get())(w.scales.get())(w.f.elem)(w.f.group)(w.f.inv_global)(bias)(bias_dtype)(xin)(xin_off)(
          xin_dtype)(y)(y_off_arg)(ydt)(Mi)(Ni)(Ki)(vec);
      break;
    }
    case WeightKind::W4a8:
      ArgSetter{g}(w.codes.get())(w.scales.get())(w.f.group)(bias)(bias_dtype)(scratch.xq.get())(scratch.xs.get())(y)(
          y_off_arg)(ydt)(Mi)(Ni)(Ki);
      break;
  }
  launch_kernel(s, g, 1, {groups * 128, 1, 1}, {128, 1, 1});
}

}  // namespace incq::inc_xpu::flt
