#include "fp8_float_moe.hpp"

namespace incq::inc_xpu::flt {
namespace {

std::string moe_kernel(WeightKind kind, const char* op) {
  const char* base = kind == WeightKind::Fp8 ? "fp8_f32_moe_" : kind == WeightKind::Mx ? "mx_f32_moe_"
                                                                                        : "w4a8_qd8_f32_qc4w_moe_";
  return std::string(base) + op;
}

}  // namespace

std::string float_moe_limits(const inc_cpu::LayerSpec& s) {
  if (s.num_experts > 4096) return "more than 4096 experts (the routing kernel keeps per-expert counts in local memory)";
  if (s.has_bias) return "expert biases are not supported by inc_xpu";
  if (s.act_bits < 16 && s.act_family == INCQ_FAMILY_NV_FP)
    return "NV_FP activations in MoE are not supported by inc_xpu (each expert's input_global_scale would need its "
           "own quantization of x)";
  if (std::string why = accumulation_limit(s.hidden_size); !why.empty()) return "gate_proj/up_proj: " + why;
  if (std::string why = accumulation_limit(s.intermediate_size); !why.empty()) return "down_proj: " + why;
  return "";
}

FloatMoeExperts::FloatMoeExperts(cl_program program, FloatMatrix gate, FloatMatrix up, FloatMatrix down, ActStep act,
                                 int32_t x_dtype)
    : gate_(std::move(gate)), up_(std::move(up)), down_(std::move(down)), act_(act), x_dtype_(x_dtype) {
  const WeightKind kind = gate_.f.kind;
  gate_up1_ = Kernel(program, moe_kernel(kind, "gate_up_8x1_k128"));
  gate_up4_ = Kernel(program, moe_kernel(kind, "gate_up_8x4_k128"));
  down1_ = Kernel(program, moe_kernel(kind, "down_16x1_k128"));
  down4_ = Kernel(program, moe_kernel(kind, "down_16x4_k128"));
  quant_ = std::move(make_float_kernels(program, kind, act).quant);
}

int32_t FloatMoeExperts::rows_per_tile(int64_t pairs) const { return pairs <= 8 ? 1 : 4; }

void FloatMoeExperts::launch(const Session& s, const MoeRouting& r, bool gate_up, const FloatMatrix& a,
                             const FloatMatrix& b, const ActInput& in, const ActScratch& scratch, cl_mem out,
                             int64_t N, int64_t K) const {
  const bool one = r.rows_per_tile == 1;
  const Kernel& k = gate_up ? (one ? gate_up1_ : gate_up4_) : (one ? down1_ : down4_);
  const size_t rows = gate_up ? 8 : 16;
  const cl_ulong ws = a.code_stride, ss = a.scale_stride;
  const cl_int Ni = static_cast<cl_int>(N), Ki = static_cast<cl_int>(K), top_k = r.top_k;
  const FloatFormat& f = a.f;
  ArgSetter set(k);
  set(a.codes.get())(a.scales.get())(b.codes.get())(b.scales.get())(ws)(ss);
  switch (f.kind) {
    case WeightKind::Fp8: {
      const cl_int vec = (K % 8 == 0) && (in.offset % 4 == 0) && (f.cols_per_scale % 8 == 0 || f.cols_per_scale >= K);
      const cl_ulong off = in.offset;
      const cl_int dt = in.dtype;
      set(f.scale_dtype)(f.rows_per_scale)(f.cols_per_scale)(f.scale_cols)(in.mem)(off)(dt)(r.tiles)(r.sorted_pairs)(
          r.num_tiles)(top_k)(out)(Ni)(Ki)(f.e5m2)(vec);
      break;
    }
    case WeightKind::Mx: {
      const cl_int vec = in.offset % 4 == 0;
      const cl_ulong off = in.offset;
      const cl_int dt = in.dtype;
      set(f.elem)(f.group)(in.mem)(off)(dt)(r.tiles)(r.sorted_pairs)(r.num_tiles)(top_k)(out)(Ni)(Ki)(vec);
      break;
    }
    case WeightKind::W4a8:
      set(f.group)(scratch.xq.get())(scratch.xs.get())(r.tiles)(r.sorted_pairs)(r.num_tiles)(top_k)(out)(Ni)(Ki);
      break;
  }
  const size_t blocks = static_cast<size_t>((N + static_cast<int64_t>(rows) - 1) / static_cast<int64_t>(rows));
  launch_kernel(s, k, 2, {blocks * 128, static_cast<size_t>(r.max_tiles), 1}, {128, 1, 1});
}

void FloatMoeExperts::enqueue_gate_up(const Session& s, const MoeRouting& r, cl_mem x, uint32_t x_off, cl_mem h) const {
  const int64_t T = r.pairs / r.top_k;
  const int64_t H = gate_.f.K, I = gate_.f.N;
  const ActInput in = enqueue_act_quant(s, act_, quant_, x_scratch_, x, x_off, x_dtype_, T, H);
  launch(s, r, true, gate_, up_, in, x_scratch_, h, I, H);
}

void FloatMoeExperts::enqueue_down(const Session& s, const MoeRouting& r, cl_mem h, cl_mem ypair) const {
  const int64_t I = down_.f.K, H = down_.f.N;
  // Pairs whose expert id is invalid leave their h rows unwritten: quantizing them is harmless (no
  // tile reads them back).
  const ActInput in = enqueue_act_quant(s, act_, quant_, h_scratch_, h, 0, INCQ_DTYPE_F32, r.pairs, I);
  launch(s, r, false, down_, down_, in, h_scratch_, ypair, H, I);
}

}  // namespace incq::inc_xpu::flt
