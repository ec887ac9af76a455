#include "int_wo_linear_device.hpp"

#include <algorithm>

#include "splitk_scratch.hpp"

namespace incq::inc_xpu {
namespace {

// Row tiles (16 rows) up to which the tensor-core GEMM may split K.
constexpr int64_t kMmaSplitMaxRowTiles = 4;

// K splits of the tensor-core GEMM for NT column groups x RT row tiles.
int mma_splits(const LayerTuning& t, int64_t NT, int64_t RT, int64_t K, int64_t cus) {
  const int64_t nblocks = (K + 31) / 32;
  if (RT > kMmaSplitMaxRowTiles) return 1;
  // Auto = no split: on the H100 splitting made the GEMM slower at M = 1 and 16 (77 -> 86 us at
  // M = 16, 4096 x 14336), its limit is not the work-group count.
  (void)cus;
  const int64_t s = t.tensor_core_splits == 0 ? 1 : t.tensor_core_splits;
  // Every warp of a split keeps at least one k-block.
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(s, nblocks / static_cast<int64_t>(t.tensor_core_warps))));
}

}  // namespace

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
                                     const std::string& mma_reason, cl_program gemv_program,
                                     const std::string& gemv_reason, const LayerTuning& t, const IntDeviceImage& img,
                                     const std::string& what) {
  IntWoLinearDevice l;
  l.w = upload_int_matrix(s, img, what);
  const std::string b = std::to_string(img.bits);
  l.decode = Kernel(program, "int_wo_linear_b" + b + "_r1");
  l.prefill = Kernel(program, "int_wo_linear_b" + b + "_r8");
  if (mma_program != nullptr) {
    l.mma = Kernel(mma_program, "int_wo_gemm_16xT_tf32mma_nv_b" + b);
    l.has_mma = true;
    cl_uint cus = 1;
    cl_check(clGetDeviceInfo(s.device(), CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, nullptr),
             "inc_xpu: CL_DEVICE_MAX_COMPUTE_UNITS");
    l.compute_units = cus;
    // The split-K scratch for every row-tile count that may split (process time, not apply).
    const int64_t NT = (img.N + 31) / 32;
    size_t partial_bytes = 0;
    for (int64_t RT = 1; RT <= kMmaSplitMaxRowTiles; ++RT) {
      const int sp = mma_splits(t, NT, RT, img.K, cus);
      if (sp > 1) partial_bytes = std::max(partial_bytes, static_cast<size_t>(NT * RT * sp * 512 * 4));
    }
    if (partial_bytes > 0) s.splitk().reserve(s, partial_bytes, static_cast<size_t>(NT * kMmaSplitMaxRowTiles));
  } else {
    l.mma_reason = mma_reason;
  }
  if (gemv_program != nullptr) {
    l.gemv = make_int_wo_gemv(s, gemv_program, img, t);
    l.has_gemv = true;
  } else {
    l.gemv_reason = gemv_reason;
  }
  return l;
}

void enqueue_int_wo_linear(const Session& s, const IntWoLinearDevice& l, const LayerTuning& t, cl_mem x,
                           uint32_t x_off, cl_mem y, uint32_t y_off, int64_t M) {
  if (M == 0) return;
  const IntDeviceBuffers& w = l.w;
  const bool use_mma = l.has_mma && t.tensor_cores != "off" && M >= (t.tensor_cores == "on" ? 1 : t.tensor_core_rows);
  // The split-K GEMV up to gemv_rows rows; with gemv=auto the tensor-core GEMM keeps the rows it
  // takes (measured on the H100: at M = 16 it is 1.75x faster than the 16-row GEMV).
  if (l.has_gemv && t.gemv != "off" && M <= l.gemv.max_rows && (t.gemv == "on" || !use_mma)) {
    enqueue_int_wo_gemv(s, l.gemv, w, x, x_off, y, y_off, M);
    return;
  }
  if (use_mma) {
    const cl_int bias_dtype = w.bias_dtype, Mi = static_cast<cl_int>(M), Ni = static_cast<cl_int>(w.N);
    const cl_int Ki = static_cast<cl_int>(w.K), G = w.group_size, zero_add = w.zero_add;
    const size_t warps = t.tensor_core_warps;
    const int64_t NT = (w.N + 31) / 32, RT = (M + 15) / 16;
    const cl_int splits = mma_splits(t, NT, RT, w.K, l.compute_units);
    SplitKScratch& sc = s.splitk();
    auto lock = sc.lock();
    cl_mem partials = splits > 1 ? sc.partials() : w.qweight.get(), counters = splits > 1 ? sc.counters() : w.qweight.get();
    ArgSetter{l.mma}(x)(x_off)(w.qweight.get())(w.scales.get())(w.zeros.get())(w.bias.get())(bias_dtype)(y)(y_off)(Mi)(
        Ni)(Ki)(G)(zero_add)(splits)(partials)(counters)(LocalBytes{warps * 4 * 4 * 32 * sizeof(float) + 16});
    launch_kernel(s, l.mma, 3, {static_cast<size_t>(NT) * 32, warps, static_cast<size_t>(RT * splits)}, {32, warps, 1});
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
