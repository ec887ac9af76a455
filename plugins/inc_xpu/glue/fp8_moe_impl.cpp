// "inc_xpu.fp8_moe": FP8 experts (e4m3 / e5m2, per-tensor / channel / group / block scales,
// weight-only or FP8 block W8A8) through xpu-core's MoE driver on an OpenCL device.
#include "fp8_experts.hpp"
#include "fp8_float_moe.hpp"
#include "fp8_support.hpp"
#include "impls.hpp"

namespace incq::inc_xpu {
namespace {

struct Fp8MoeSpec {
  static constexpr const char* kName = "inc_xpu.fp8_moe";
  static std::string reason(const inc_cpu::LayerSpec& s) { return inc_cpu::fp8_moe_reason(s, flt::reference_device()); }
  static flt::ExpertImages images(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s) {
    const inc_cpu::Fp8Experts ex = inc_cpu::load_fp8_experts(tensors, s.name, s.num_experts, s.hidden_size,
                                                             s.intermediate_size, inc_cpu::fp8_format_of(s), false);
    flt::ExpertImages img;
    const std::string who = "layer '" + s.name + "'";
    for (int64_t e = 0; e < s.num_experts; ++e) {
      const std::string p = std::to_string(e) + ".";
      img.gate.push_back(flt::image_fp8(ex.gate[e], s.weight_dtype, tensors, p + "gate_proj.", who));
      img.up.push_back(flt::image_fp8(ex.up[e], s.weight_dtype, tensors, p + "up_proj.", who));
      img.down.push_back(flt::image_fp8(ex.down[e], s.weight_dtype, tensors, p + "down_proj.", who));
    }
    return img;
  }
};

incq_impl_desc make_desc() {
  incq_impl_desc d = flt::float_moe_desc<Fp8MoeSpec>(INCQ_FAMILY_FP8);
  d.bits_mask = INCQ_BIT(8);
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_FP8) | INCQ_BIT(INCQ_PACKING_FP8_BLOCK);
  return d;
}

}  // namespace

const incq_impl_desc* fp8_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
