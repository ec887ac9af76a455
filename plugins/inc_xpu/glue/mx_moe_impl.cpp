// "inc_xpu.mx_fp_moe" (MXFP4 / MXFP8) and "inc_xpu.mx_int_moe" (MXINT4): block-scaled experts with
// MX activation quantization on the device, through xpu-core's MoE driver.
#include "fp8_float_moe.hpp"
#include "impls.hpp"
#include "mx_experts.hpp"
#include "mx_support.hpp"

namespace incq::inc_xpu {
namespace {

template <int32_t Family>
struct MxMoeSpec {
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP ? "inc_xpu.mx_fp_moe" : "inc_xpu.mx_int_moe";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    return inc_cpu::mx_moe_reason(Family, s, flt::reference_device());
  }
  static flt::ExpertImages images(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s) {
    const inc_cpu::MxExperts ex =
        inc_cpu::load_mx_experts(tensors, s.name, s.num_experts, s.hidden_size, s.intermediate_size,
                                 inc_cpu::mx_format_of_spec(s), inc_cpu::act_quant_of_spec(s), false);
    flt::ExpertImages img;
    for (int64_t e = 0; e < s.num_experts; ++e) {
      img.gate.push_back(flt::image_mx(ex.gate[e]));
      img.up.push_back(flt::image_mx(ex.up[e]));
      img.down.push_back(flt::image_mx(ex.down[e]));
    }
    return img;
  }
};

template <int32_t Family>
incq_impl_desc make_desc() {
  static const int32_t kGroups[] = {32};
  incq_impl_desc d = flt::float_moe_desc<MxMoeSpec<Family>>(Family);
  d.bits_mask = Family == INCQ_FAMILY_MX_FP ? (INCQ_BIT(4) | INCQ_BIT(8)) : INCQ_BIT(4);
  d.group_sizes = kGroups;
  d.num_group_sizes = 1;
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_LLM_COMPRESSOR);
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}

const incq_impl_desc* mx_int_moe_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_xpu
