// "inc_xpu.w4a8_moe": W4A8 experts (int4 symmetric GPTQ weights, per-token int8 activations, the
// intermediate quantized per routed pair) through xpu-core's MoE driver on an OpenCL device.
#include "fp8_float_moe.hpp"
#include "impls.hpp"
#include "int_wo_experts.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_xpu {
namespace {

struct W4a8MoeSpec {
  static constexpr const char* kName = "inc_xpu.w4a8_moe";
  static std::string reason(const inc_cpu::LayerSpec& s) { return inc_cpu::w4a8_moe_reason(s, flt::reference_device()); }
  static flt::ExpertImages images(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s) {
    const inc_cpu::IntWoExperts ex = inc_cpu::load_int_wo_experts(tensors, s.name, s.num_experts, s.hidden_size,
                                                                  s.intermediate_size, inc_cpu::w4a8_format_of(s), false);
    flt::ExpertImages img;
    for (int64_t e = 0; e < s.num_experts; ++e) {
      const std::string p = std::to_string(e) + ".";
      inc_cpu::check_w4a8_groups(ex.gate[e], s.name, p + "gate_proj.");
      inc_cpu::check_w4a8_groups(ex.up[e], s.name, p + "up_proj.");
      inc_cpu::check_w4a8_groups(ex.down[e], s.name, p + "down_proj.");
      img.gate.push_back(flt::image_w4a8(ex.gate[e]));
      img.up.push_back(flt::image_w4a8(ex.up[e]));
      img.down.push_back(flt::image_w4a8(ex.down[e]));
    }
    return img;
  }
};

incq_impl_desc make_desc() {
  static const int32_t kGroups[] = {32, 64, 128, 256};
  incq_impl_desc d = flt::float_moe_desc<W4a8MoeSpec>(INCQ_FAMILY_INT);
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroups;
  d.num_group_sizes = sizeof kGroups / sizeof kGroups[0];
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  return d;
}

}  // namespace

const incq_impl_desc* w4a8_moe_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_xpu
