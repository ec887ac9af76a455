#include "int_wo_linear_device.hpp"

namespace incq::inc_xpu {

IntDeviceBuffers upload_int_matrix(const Session& s, const IntDeviceImage& img, const std::string& what) {
  IntDeviceBuffers b;
  b.bits = img.bits;
  b.K = img.K;
  b.N = img.N;
  b.group_size = img.group_size;
  b.zero_add = img.zero_add;
  b.has_g_idx = img.g_idx.empty() ? 0 : 1;
  b.bias_dtype = img.bias.empty() ? 0 : img.bias_dtype;
  b.qweight = upload(s, img.qweight, what + " qweight");
  b.zeros = upload(s, img.zeros, what + " qzeros");
  b.scales = upload(s, img.scales, what + " scales");
  // Absent optional tensors still need a valid cl_mem argument: a 4-byte placeholder.
  b.g_idx = img.g_idx.empty() ? DeviceBuffer(s, 4, what + " g_idx placeholder") : upload(s, img.g_idx, what + " g_idx");
  b.bias = img.bias.empty() ? DeviceBuffer(s, 4, what + " bias placeholder") : upload(s, img.bias, what + " bias");
  b.resident = img.bytes();
  return b;
}

IntWoLinearDevice make_int_wo_linear(const Session& s, cl_program program, cl_program mma_program,
                                     const std::string& mma_reason, const IntDeviceImage& img, const std::string& what) {
  IntWoLinearDevice l;
  l.w = upload_int_matrix(s, img, what);
  const std::string b = std::to_string(img.bits);
  l.decode = Kernel(program, "int_wo_linear_b" + b + "_r1");
  l.prefill = Kernel(program, "int_wo_linear_b" + b + "_r8");
  if (mma_program != nullptr) {
    l.mma = Kernel(mma_program, "int_wo_gemm_16xT_tf32mma_nv_b" + b);
    l.has_mma = true;
  } else {
    l.mma_reason = mma_reason;
  }
  return l;
}

void enqueue_int_wo_linear(const Session& s, const IntWoLinearDevice& l, const LayerTuning& t, cl_mem x,
                           uint32_t x_off, cl_mem y, uint32_t y_off, int64_t M) {
  if (M == 0) return;
  const IntDeviceBuffers& w = l.w;
  const bool use_mma = l.has_mma && t.tensor_cores != "off" && M >= (t.tensor_cores == "on" ? 1 : t.tensor_core_rows);
  if (use_mma) {
    const cl_int bias_dtype = w.bias_dtype, Mi = static_cast<cl_int>(M), Ni = static_cast<cl_int>(w.N);
    const cl_int Ki = static_cast<cl_int>(w.K), G = w.group_size, zero_add = w.zero_add;
    const size_t warps = t.tensor_core_warps;
    ArgSetter{l.mma}(x)(x_off)(w.qweight.get())(w.scales.get())(w.zeros.get())(w.bias.get())(bias_dtype)(y)(y_off)(Mi)(
        Ni)(Ki)(G)(zero_add)(LocalBytes{warps * 4 * 4 * 32 * sizeof(float)});
    const size_t col_groups = static_cast<size_t>((w.N + 31) / 32);
    launch_kernel(s, l.mma, 3, {col_groups * 32, warps, static_cast<size_t>((M + 15) / 16)}, {32, warps, 1});
    return;
  }
  const bool prefill = M >= t.prefill_rows;
  const Kernel& k = prefill ? l.prefill : l.decode;
  const Tile tile = prefill ? t.prefill : t.decode;
  const int rows = prefill ? 8 : 1;
  const cl_int has_gidx = w.has_g_idx, bias_dtype = w.bias_dtype;
  const cl_int Mi = static_cast<cl_int>(M), Ni = static_cast<cl_int>(w.N), Ki = static_cast<cl_int>(w.K);
  const cl_int G = w.group_size, zero_add = w.zero_add;
  ArgSetter{k}(x)(x_off)(w.qweight.get())(w.scales.get())(w.zeros.get())(w.g_idx.get())(has_gidx)(w.bias.get())(
      bias_dtype)(y)(y_off)(Mi)(Ni)(Ki)(G)(zero_add)(LocalBytes{tile.lx * tile.ly * rows * 4 * sizeof(float)});
  const size_t quads = static_cast<size_t>((w.N + 3) / 4);
  const size_t row_groups = static_cast<size_t>((M + rows - 1) / rows);
  launch_kernel(s, k, 3, {quads, tile.ly, row_groups}, {tile.lx, tile.ly, 1});
}

}  // namespace incq::inc_xpu
