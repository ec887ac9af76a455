// "inc_xpu.w4a8_linear": int4 symmetric GPTQ weights with dynamic per-token int8 activations,
// quantized on the device bit-exactly per docs/formats.md §3 "INT", int32 sums of int8 products
// (dp4a-style where the device compiler offers the 4x8-bit dot product), on an OpenCL device.
#include "fp8_float_linear.hpp"
#include "impls.hpp"
#include "int_wo_matrix.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_xpu {
namespace {

struct W4a8Spec {
  static constexpr const char* kName = "inc_xpu.w4a8_linear";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    return inc_cpu::w4a8_linear_reason(s, flt::reference_device());
  }
  static flt::FloatMatrix load(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                               float*) {
    const inc_cpu::IntWoMatrix m = inc_cpu::load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                                               inc_cpu::w4a8_format_of(s), s.has_bias != 0);
    inc_cpu::check_w4a8_groups(m, s.name, "");
    return flt::upload_matrix(session, flt::image_w4a8(m), "layer '" + s.name + "'");
  }
};

incq_impl_desc make_desc() {
  static const int32_t kGroups[] = {32, 64, 128, 256};
  incq_impl_desc d = flt::float_linear_desc<W4a8Spec>(INCQ_FAMILY_INT);
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroups;
  d.num_group_sizes = sizeof kGroups / sizeof kGroups[0];
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  return d;
}

}  // namespace

const incq_impl_desc* w4a8_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
