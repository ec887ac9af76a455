// "inc_xpu.nv_fp_linear": NVFP4 Linear (E2M1 elements, e4m3 scales per 16 over a global scale),
// with NV_FP activation quantization (static input_global_scale) on the device when the scheme
// says so (docs/formats.md §3).
#include "fp8_float_linear.hpp"
#include "impls.hpp"
#include "mx_support.hpp"

namespace incq::inc_xpu {

namespace flt {
FloatMatrix load_mx_linear(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                           float* nv_input_global);  // mx_linear_impl.cpp
}  // namespace flt

namespace {

struct NvSpec {
  static constexpr const char* kName = "inc_xpu.nv_fp_linear";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    return inc_cpu::mx_linear_reason(INCQ_FAMILY_NV_FP, s, flt::reference_device());
  }
  static flt::FloatMatrix load(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                               float* nv_global) {
    return flt::load_mx_linear(tensors, s, session, nv_global);
  }
};

incq_impl_desc make_desc() {
  static const int32_t kGroups[] = {16};
  incq_impl_desc d = flt::float_linear_desc<NvSpec>(INCQ_FAMILY_NV_FP);
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroups;
  d.num_group_sizes = 1;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_LLM_COMPRESSOR);
  return d;
}

}  // namespace

const incq_impl_desc* nv_fp_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
