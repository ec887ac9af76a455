// "inc_cpu.fast.int_wo_linear" (compute types fp32 / bf16, default by activation dtype) and
// "inc_cpu.fast.int_wo_linear_int8" (int8 activations, opt-in): the ISA-dispatched integer
// weight-only Linear over the repacked layout of src/int_fast. Two descriptors because their error
// contracts differ by orders of magnitude (docs/compute_modes.md); the int8 one ranks below the
// reference so it only runs when a user selects it for a layer.
#include "impls.hpp"
#include "int_fast/int_fast_support.hpp"
#include "int_fast/int_linear_apply.hpp"
#include "int_fast/int_repack.hpp"
#include "int_fast/scratch_arena.hpp"
#include "int_fast_options.hpp"
#include "int_wo_matrix.hpp"
#include "layer_lifecycle.hpp"

namespace incq::inc_cpu {
namespace {

using int_fast::ComputeType;

int_fast::IntFastWeights load_fast(BundleTensors& tensors, const LayerSpec& s, ComputeType worst) {
  int_fast::IntFastWeights out;
  {
    const IntWoMatrix checked = load_int_wo_matrix(tensors, s.name, "", s.in_features, s.out_features,
                                                   IntWoFormat{s.bits, s.packing, s.group_size, s.sym != 0},
                                                   s.has_bias != 0);
    out.w = int_fast::repack_int_matrix(checked);
  }  // the checkpoint copy is gone before the layer is ready: resident = the repacked bytes
  out.kernels = int_fast::select_int_kernels();
  out.prefill = int_fast::plan_int_prefill(out.w);
  int_fast::reserve_scratch(int_fast::int_linear_scratch_bytes(out.w, worst, &out.prefill));
  // fp32 mode (the worst decode need) shares the descriptor with bf16, whose prefill needs more.
  if (worst == ComputeType::kFp32) {
    int_fast::reserve_scratch(int_fast::int_linear_scratch_bytes(out.w, ComputeType::kBf16, &out.prefill));
  }
  return out;
}

struct FastLinear {
  using Weights = int_fast::IntFastWeights;
  using Options = ComputeType;
  static constexpr const char* kName = "inc_cpu.fast.int_wo_linear";
  static std::string reason(const LayerSpec& s, const incq_device* d) { return int_fast::int_fast_linear_reason(s, d); }
  static Options parse_options(const incq_kv* o, size_t n, const LayerSpec& s) {
    return parse_compute_type(o, n, s, {ComputeType::kBf16, ComputeType::kFp32}, "inc_cpu.fast.int_wo_linear_int8");
  }
  static Weights load(BundleTensors& t, const LayerSpec& s) { return load_fast(t, s, ComputeType::kFp32); }
  static uint64_t resident(const Weights& w) { return w.w.resident_bytes(); }
};

struct FastLinearInt8 {
  using Weights = int_fast::IntFastWeights;
  using Options = ComputeType;
  static constexpr const char* kName = "inc_cpu.fast.int_wo_linear_int8";
  static std::string reason(const LayerSpec& s, const incq_device* d) { return int_fast::int_fast_linear_reason(s, d); }
  static Options parse_options(const incq_kv* o, size_t n, const LayerSpec& s) {
    return parse_compute_type(o, n, s, {ComputeType::kInt8}, nullptr);
  }
  static Weights load(BundleTensors& t, const LayerSpec& s) { return load_fast(t, s, ComputeType::kInt8); }
  static uint64_t resident(const Weights& w) { return w.w.resident_bytes(); }
};

template <typename Traits>
incq_status apply_linear(incq_layer* handle, const incq_tensor* x, incq_tensor* y, const incq_exec* exec,
                         incq_error* err) {
  return guarded(err, [&] {
    const auto& layer = Lifecycle<Traits>::ready_layer(handle);
    int_fast::int_fast_linear_apply(layer.weights, layer.options, layer.spec.name, layer.spec.act_dtype, x, y, exec);
  });
}

template <typename Traits>
incq_impl_desc make_desc(int32_t priority, double tolerance) {
  incq_impl_desc d = Lifecycle<Traits>::base_desc(INCQ_MODULE_LINEAR);
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8);
  d.group_sizes = nullptr;  // any: -1 or positive (can_implement checks the shape)
  d.num_group_sizes = 0;
  d.sym_mask = 0x1u | 0x2u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) | INCQ_BIT(INCQ_PACKING_AWQ);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32) | INCQ_BIT(INCQ_DTYPE_BF16) | INCQ_BIT(INCQ_DTYPE_F16);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = priority;
  d.tolerance = tolerance;
  d.apply_linear = apply_linear<Traits>;
  return d;
}

}  // namespace

const incq_impl_desc* int_fast_linear_impl() {
  // Above the reference (0): the default for every integer weight-only Linear it can run.
  static const incq_impl_desc desc = make_desc<FastLinear>(10, int_fast::kIntFastTolerance);
  return &desc;
}

const incq_impl_desc* int_fast_linear_int8_impl() {
  // Below the reference: lossy beyond any relative bound, so never chosen automatically.
  static const incq_impl_desc desc = make_desc<FastLinearInt8>(-20, int_fast::kIntFastInt8Tolerance);
  return &desc;
}

}  // namespace incq::inc_cpu
