// "inc_xpu.mx_fp_linear" (MXFP4 / MXFP8) and "inc_xpu.mx_int_linear" (MXINT4): block-scaled Linear
// with E8M0 scales per 32 elements, activations quantized on the device per docs/formats.md §3
// (MX_FP / MX_INT) when the scheme says so. NVFP4 is nv_linear_impl.cpp.
#include "fp8_float_linear.hpp"
#include "impls.hpp"
#include "mx_support.hpp"
#include "mx_weights.hpp"

namespace incq::inc_xpu {

namespace flt {
// Shared with nv_linear_impl.cpp: the CPU reference's reader validates, the device gets its bytes.
FloatMatrix load_mx_linear(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                           float* nv_input_global) {
  const inc_cpu::MxMatrix m =
      inc_cpu::load_mx_matrix(tensors, s.name, "", s.in_features, s.out_features, inc_cpu::mx_format_of_spec(s),
                              inc_cpu::act_quant_of_spec(s), s.has_bias != 0);
  *nv_input_global = m.input_quant.global_scale;
  return upload_matrix(session, image_mx(m), "layer '" + s.name + "'");
}
}  // namespace flt

namespace {

template <int32_t Family>
struct MxSpec {
  static constexpr const char* kName = Family == INCQ_FAMILY_MX_FP ? "inc_xpu.mx_fp_linear" : "inc_xpu.mx_int_linear";
  static std::string reason(const inc_cpu::LayerSpec& s) {
    return inc_cpu::mx_linear_reason(Family, s, flt::reference_device());
  }
  static flt::FloatMatrix load(inc_cpu::BundleTensors& tensors, const inc_cpu::LayerSpec& s, const Session& session,
                               float* nv_global) {
    return flt::load_mx_linear(tensors, s, session, nv_global);
  }
};

template <int32_t Family>
incq_impl_desc make_desc() {
  static const int32_t kGroups[] = {32};
  incq_impl_desc d = flt::float_linear_desc<MxSpec<Family>>(Family);
  d.bits_mask = Family == INCQ_FAMILY_MX_FP ? (INCQ_BIT(4) | INCQ_BIT(8)) : INCQ_BIT(4);
  d.group_sizes = kGroups;
  d.num_group_sizes = 1;
  d.sym_mask = 0x2u;  // symmetric by construction
  d.packing_mask = INCQ_BIT(INCQ_PACKING_LLM_COMPRESSOR);
  return d;
}

}  // namespace

const incq_impl_desc* mx_fp_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_FP>();
  return &desc;
}

const incq_impl_desc* mx_int_linear_impl() {
  static const incq_impl_desc desc = make_desc<INCQ_FAMILY_MX_INT>();
  return &desc;
}

}  // namespace incq::inc_xpu
