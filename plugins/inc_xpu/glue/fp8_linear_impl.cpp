// "inc_xpu.fp8_linear": FP8 (e4m3 / e5m2) Linear with per-tensor, per-channel, per-group or block
// scales, weight-only or with dynamic e4m3 activations (FP8 block W8A8), on an OpenCL device.
#include "fp8_float_linear.hpp"
#include "fp8_support.hpp"
#include "fp8_weights.hpp"
#include "impls.hpp"

namespace incq::inc_xpu {
namespace {

struct Fp8Spec {
  static constexpr const char* kName = "inc_xpu.fp8_linear";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    return inc_cpu::fp8_linear_reason(s, flt::reference_device());
  }
  static flt::FloatMatrix load(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                               float*) {
    const inc_cpu::Fp8Matrix m = inc_cpu::load_fp8_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                                          inc_cpu::fp8_format_of(s), s.has_bias != 0);
    const std::string who = "layer '" + s.name + "'";
    return flt::upload_matrix(session, flt::image_fp8(m, s.weight_dtype, tensors, "", who), who);
  }
};

incq_impl_desc make_desc() {
  incq_impl_desc d = flt::float_linear_desc<Fp8Spec>(INCQ_FAMILY_FP8);
  d.bits_mask = INCQ_BIT(8);
  d.group_sizes = nullptr;  // 0 per tensor, -1 per channel, any positive group, or blocks
  d.num_group_sizes = 0;
  d.sym_mask = 0x2u;  // FP8 has no zero point
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  return d;
}

}  // namespace

const incq_impl_desc* fp8_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
