// "inc_cpu.fast.w4a8_int_linear": the ISA-dispatched W4A8 Linear (int4 symmetric GPTQ weights,
// dynamic per-token int8 activations with the bit-exact codes of docs/formats.md §3 INT), over the
// repacked layout and the int8 kernels of src/int_fast (AVX512-VNNI vpdpbusd where present).
#include "impls.hpp"
#include "int_fast/int_fast_support.hpp"
#include "int_fast/int_linear_apply.hpp"
#include "int_fast/int_repack.hpp"
#include "int_fast/scratch_arena.hpp"
#include "int_wo_matrix.hpp"
#include "layer_lifecycle.hpp"
#include "w4a8_support.hpp"

namespace incq::inc_cpu {
namespace {

struct W4a8Fast {
  using Weights = int_fast::IntFastWeights;
  static constexpr const char* kName = "inc_cpu.fast.w4a8_int_linear";
  static std::string reason(const LayerSpec& s, const incq_device* d) { return int_fast::w4a8_fast_linear_reason(s, d); }
  static Weights load(BundleTensors& tensors, const LayerSpec& s) {
    Weights out;
    {
      const IntWoMatrix checked = load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                                     w4a8_format_of(s), s.has_bias != 0);
      check_w4a8_groups(checked, s.name, "");
      out.w = int_fast::repack_int_matrix(checked);
    }
    out.kernels = int_fast::select_int_kernels();
    int_fast::reserve_scratch(int_fast::int_linear_scratch_bytes(out.w, int_fast::ComputeType::kInt8));
    return out;
  }
  static uint64_t resident(const Weights& w) { return w.w.resident_bytes(); }
};
using L = Lifecycle<W4a8Fast>;

incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const L::Layer& layer = L::ready_layer(handle);
    int_fast::int_fast_linear_apply(layer.weights, int_fast::ComputeType::kInt8, layer.spec.name, layer.spec.act_dtype,
                                    x, y, exec);
  });
}

const int32_t kGroupSizes[] = {32, 64, 128, 256};  // as the reference; can_implement has the rest

incq_impl_desc make_desc() {
  incq_impl_desc d = L::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.group_sizes = kGroupSizes;
  d.num_group_sizes = sizeof kGroupSizes / sizeof kGroupSizes[0];
  d.sym_mask = 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  // Above the W4A8 reference (-10), below the weight-only ones (0, 10): a W4A16 layer keeps its
  // exact path unless a user names this one; a W4A8 layer gets this one.
  d.priority = -5;
  d.tolerance = int_fast::kW4a8FastTolerance;
  d.apply_linear = apply_linear;
  return d;
}

}  // namespace

const incq_impl_desc* w4a8_fast_linear_impl() {
  static const incq_impl_desc desc = make_desc();
  return &desc;
}

}  // namespace incq::inc_cpu
