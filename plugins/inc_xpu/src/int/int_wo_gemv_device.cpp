#include "int_wo_gemv_device.hpp"

#include <algorithm>

#include "int_wo_linear_device.hpp"
#include "splitk_scratch.hpp"

namespace incq::inc_xpu {
namespace {

template <typename T>
T device_value(cl_device_id d, cl_device_info what) {
  T v{};
  cl_check(clGetDeviceInfo(d, what, sizeof v, &v, nullptr), "inc_xpu: clGetDeviceInfo");
  return v;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::string int_wo_gemv_reason(const IntDeviceImage& img) {
  if (img.bits != 2 && img.bits != 4 && img.bits != 8) return "3-bit codes straddle words";
  if (!img.g_idx.empty()) return "act-order g_idx";
  if (img.group_size < img.K && img.group_size % 32 != 0) return "group size is not a multiple of 32";
  if (img.N % 4 != 0) return "N is not a multiple of 4 (16-byte column loads)";
  return "";
}

IntWoGemv make_int_wo_gemv(const Session& s, cl_program program, const IntDeviceImage& img, const LayerTuning& t) {
  IntWoGemv g;
  g.max_rows = t.gemv_rows;
  const cl_device_id dev = s.device();
  const int64_t local_dev = static_cast<int64_t>(device_value<cl_ulong>(dev, CL_DEVICE_LOCAL_MEM_SIZE));
  const int64_t cus = device_value<cl_uint>(dev, CL_DEVICE_MAX_COMPUTE_UNITS);
  const int64_t nblocks = ceil_div(img.K, 32), NT = ceil_div(img.N, 128);
  const std::string b = std::to_string(img.bits);
  size_t partial_bytes = 0;
  const int rows[3] = {1, 4, 16};
  for (int i = 0; i < 3; ++i) {
    GemvVariant& v = g.v[static_cast<size_t>(i)];
    const int R = rows[i];
    v.rows = R;
    v.kernel = Kernel(program, "int_wo_gemv_b" + b + "_r" + std::to_string(R) + "x128_splitk");
    size_t wg_max = 0;
    cl_check(clGetKernelWorkGroupInfo(v.kernel.get(), dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg_max, &wg_max, nullptr),
             "inc_xpu: CL_KERNEL_WORK_GROUP_SIZE of " + v.kernel.name());
    const int64_t urows = 8, U = std::max<int64_t>(1, urows / img.bits);
    // Warps: as asked, within the kernel's work-group limit and the reduction's local memory.
    int64_t W = std::min<int64_t>(t.gemv_warps, static_cast<int64_t>(wg_max / 32));
    W = std::max<int64_t>(1, std::min<int64_t>(W, (local_dev - 16) / (R * 128 * 4)));
    const int64_t kb_local = (local_dev - 16) / (R * 32 * 4);  // staged activations fit
    int64_t kb = t.gemv_kblocks;
    if (kb == 0) {  // ~6 work-groups per compute unit, in whole runs of every warp (H100, 4096x14336:
      // 19 splits 19.3 us, 28 splits 21.0, 14 splits 19.9)
      const int64_t splits = std::max<int64_t>(1, ceil_div(6 * cus, NT));
      kb = ceil_div(ceil_div(nblocks, splits), W * U) * (W * U);
    }
    kb = std::max<int64_t>(1, std::min({kb, kb_local, nblocks}));
    v.warps = static_cast<size_t>(W);
    v.kblocks = static_cast<int>(kb);
    v.splits = static_cast<int>(ceil_div(nblocks, kb));
    v.local_bytes = static_cast<size_t>(std::max(R * kb * 32, W * R * 128) * 4 + 16);
    if (v.splits > 1) partial_bytes = std::max(partial_bytes, static_cast<size_t>(NT * v.splits * R * 128 * 4));
  }
  if (partial_bytes > 0) s.splitk().reserve(s, partial_bytes, static_cast<size_t>(NT));
  return g;
}

void enqueue_int_wo_gemv(const Session& s, const IntWoGemv& g, const IntDeviceBuffers& w, cl_mem x, uint32_t x_off,
                         cl_mem y, uint32_t y_off, int64_t M) {
  const GemvVariant& v = g.for_rows(M);
  const cl_int bias_dtype = w.bias_dtype, Mi = static_cast<cl_int>(M), Ni = static_cast<cl_int>(w.N);
  const cl_int Ki = static_cast<cl_int>(w.K), G = w.group_size, zero_add = w.zero_add, kb = v.kblocks;
  SplitKScratch& sc = s.splitk();
  auto lock = sc.lock();
  // Without splits the scratch is never touched; any buffer fills the argument.
  cl_mem partials = v.splits > 1 ? sc.partials() : w.qweight.get();
  cl_mem counters = v.splits > 1 ? sc.counters() : w.qweight.get();
  ArgSetter{v.kernel}(x)(x_off)(w.qweight.get())(w.scales.get())(w.zeros.get())(w.bias.get())(bias_dtype)(y)(y_off)(Mi)(
      Ni)(Ki)(G)(zero_add)(kb)(partials)(counters)(LocalBytes{v.local_bytes});
  const size_t NT = static_cast<size_t>((w.N + 127) / 128), RT = static_cast<size_t>((M + v.rows - 1) / v.rows);
  launch_kernel(s, v.kernel, 3, {NT * 32 * v.warps, static_cast<size_t>(v.splits), RT}, {32 * v.warps, 1, 1});
}

}  // namespace incq::inc_xpu
