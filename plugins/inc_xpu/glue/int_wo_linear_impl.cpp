// "inc_xpu.int_wo_linear": integer weight-only Linear (2/3/4/8 bits, sym/asym, GPTQ v1/v2, AWQ,
// act-order g_idx, merged output partitions) on an OpenCL device.
#include "device_info.hpp"
#include "impls.hpp"
#include "int/int_device_matrix.hpp"
#include "int/int_wo_linear_device.hpp"
#include "int_wo_support.hpp"
#include "tensor_access.hpp"
#include "xpu_lifecycle.hpp"
#include "xpu_tolerance.hpp"

namespace incq::inc_xpu {
namespace {

struct IntWoLinear {
  using Weights = IntWoLinearDevice;
  static constexpr const char* kName = "inc_xpu.int_wo_linear";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    if (s.module_kind != INCQ_MODULE_LINEAR) return "not a Linear layer";
    if (std::string why = inc_cpu::int_wo_scheme_reason(s); !why.empty()) return why;
    if (s.in_features > (1LL << 24) || s.out_features > (1LL << 24))
      return "in/out features above 2^24 are not supported (32-bit kernel indexing)";
    return inc_cpu::int_wo_shape_reason(s.bits, s.packing, s.in_features, s.out_features);
  }
  template <typename Layer>
  static Weights load(inc_cpu::BundleTensors& tensors, const Layer& layer) {
    const inc_cpu::LayerSpec& s = layer.spec;
    const inc_cpu::IntWoMatrix m = inc_cpu::load_int_wo_matrix(
        tensors, s.name, "", s.in_features, s.out_features,
        inc_cpu::IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0}, s.has_bias != 0);
    cl_program program = layer.runtime->programs().get(*layer.session, int_program_spec(s.act_dtype, s.bits));
    // NVIDIA's tensor cores, where the TF32 GEMM is exact for these activations and groups.
    cl_program mma = nullptr;
    std::string why;
    const bool nvidia = cl_support::device_string(layer.session->device(), CL_DEVICE_VENDOR).find("NVIDIA") != std::string::npos;
    if (!nvidia) why = "not an NVIDIA device";
    else if (s.act_dtype == INCQ_DTYPE_F32) why = "f32 activations are not exact in TF32";
    else if (!m.g_idx.empty()) why = "act-order g_idx";
    else if (m.num_groups != 1 && m.group_size % 32 != 0) why = "group size is not a multiple of 32";
    else {
      try {
        mma = layer.runtime->programs().get(*layer.session, int_mma_program_spec(s.act_dtype, s.bits));
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    if (layer.tuning.tensor_cores == "on" && mma == nullptr)
      fail(INCQ_ERR_UNSUPPORTED, "layer '" + s.name + "': tensor_cores=on, but the tensor-core GEMM is not available: " + why);
    const IntDeviceImage img = make_int_device_image(m);
    // The split-K GEMV where its layout assumptions hold (else the tile kernels serve every M).
    cl_program gemv = nullptr;
    std::string gemv_why = layer.tuning.gemv == "off" ? "gemv=off" : int_wo_gemv_reason(img);
    if (gemv_why.empty()) {
      try {
        gemv = layer.runtime->programs().get(*layer.session, int_gemv_program_spec(s.act_dtype, s.bits));
      } catch (const std::exception& e) {
        gemv_why = e.what();
      }
    }
    if (layer.tuning.gemv == "on" && gemv == nullptr)
      fail(INCQ_ERR_UNSUPPORTED, "layer '" + s.name + "': gemv=on, but the split-K GEMV cannot serve it: " + gemv_why);
    return make_int_wo_linear(*layer.session, program, mma, why, gemv, gemv_why, layer.tuning, img,
                              "layer '" + s.name + "'");
  }
  static uint64_t resident(const Weights& w) { return w.w.resident; }
};
using L = XpuLifecycle<IntWoLinear>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec*, incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    const Session& s = *layer.session;
    const std::string who = "layer '" + layer.spec.name + "'";
    if (x == nullptr || y == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": NULL x or y");
    const int64_t M = x->ndim == 2 ? x->shape[0] : -1;
    if (M < 0) fail(INCQ_ERR_INVALID_ARGUMENT, who + ": x must be 2-D [M, K]");
    TensorAccess xa(s, x, layer.spec.act_dtype, {M, layer.spec.in_features}, false, who + " x");
    TensorAccess ya(s, y, layer.spec.act_dtype, {M, layer.spec.out_features}, true, who + " y");
    {
      std::lock_guard<std::mutex> lock(layer.launch_mutex);
      enqueue_int_wo_linear(s, layer.weights, layer.tuning, xa.mem(), xa.offset(), ya.mem(), ya.offset(), M);
    }
    ya.finish(s);
    if (!xa.staged() && !ya.staged()) L::complete(layer);
  });
}

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // any (-1 or any positive size; ceil(K/G) groups)
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.priority = 50;  // above the CPU reference; only ever chosen for OpenCL devices
  d.tolerance = kXpuF32AccTolerance;
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* int_wo_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
