#include "int_wo_moe_device.hpp"

namespace incq::inc_xpu {
namespace {

template <typename T>
std::vector<T> concat(const std::vector<IntDeviceImage>& ex, const std::vector<T> IntDeviceImage::*field, uint32_t& stride,
                      const std::string& what) {
  std::vector<T> out;
  stride = ex.empty() ? 0 : static_cast<uint32_t>((ex[0].*field).size());
  for (const auto& e : ex) {
    if ((e.*field).size() != stride)
      fail(INCQ_ERR_INVALID_ARGUMENT, what + ": experts differ in size (" + std::to_string((e.*field).size()) +
                                          " vs " + std::to_string(stride) + " elements)");
    out.insert(out.end(), (e.*field).begin(), (e.*field).end());
  }
  return out;
}

}  // namespace

IntExpertStack upload_int_experts(const Session& s, const std::vector<IntDeviceImage>& experts, const std::string& what) {
  IntExpertStack st;
  const IntDeviceImage& first = experts.at(0);
  for (const auto& e : experts)
    if (!e.bias.empty()) fail(INCQ_ERR_UNSUPPORTED, what + ": expert biases are not supported by inc_xpu");
  IntDeviceImage all;  // the whole stack as one image: the per-expert strides index into it
  all.bits = first.bits;
  all.K = first.K;
  all.N = first.N;
  all.group_size = first.group_size;
  all.zero_add = first.zero_add;
  all.qweight = concat(experts, &IntDeviceImage::qweight, st.qw_stride, what + " qweight");
  all.zeros = concat(experts, &IntDeviceImage::zeros, st.z_stride, what + " qzeros");
  all.scales = concat(experts, &IntDeviceImage::scales, st.sc_stride, what + " scales");
  all.g_idx = concat(experts, &IntDeviceImage::g_idx, st.gi_stride, what + " g_idx");
  st.w = upload_int_matrix(s, all, what);
  return st;
}

IntWoMoeExperts::IntWoMoeExperts(cl_program program, int32_t bits, IntExpertStack gate, IntExpertStack up,
                                 IntExpertStack down, LayerTuning tuning)
    : gate_(std::move(gate)), up_(std::move(up)), down_(std::move(down)), tuning_(tuning) {
  const std::string b = std::to_string(bits);
  gate_up1_ = Kernel(program, "int_wo_moe_gate_up_b" + b + "_r1");
  gate_up8_ = Kernel(program, "int_wo_moe_gate_up_b" + b + "_r8");
  down1_ = Kernel(program, "int_wo_moe_down_b" + b + "_r1");
  down8_ = Kernel(program, "int_wo_moe_down_b" + b + "_r8");
}

int32_t IntWoMoeExperts::rows_per_tile(int64_t pairs) const {
  // Few pairs (decode): one pair per tile spreads the work over more work-groups.
  return pairs >= tuning_.prefill_rows * 8 ? 8 : 1;
}

void IntWoMoeExperts::enqueue_gate_up(const Session& s, const MoeRouting& r, cl_mem x, uint32_t x_off, cl_mem h) const {
  const bool eight = r.rows_per_tile == 8;
  const Kernel& k = eight ? gate_up8_ : gate_up1_;
  const Tile t = eight ? tuning_.prefill : tuning_.decode;
  const IntDeviceBuffers& g = gate_.w;
  const IntDeviceBuffers& u = up_.w;
  const cl_int topk = r.top_k, has_gidx = g.has_g_idx, I = static_cast<cl_int>(g.N), H = static_cast<cl_int>(g.K);
  const cl_int G = g.group_size, zero_add = g.zero_add;
  ArgSetter{k}(x)(x_off)(r.sorted_pairs)(r.tiles)(r.num_tiles)(topk)(g.qweight.get())(g.scales.get())(g.zeros.get())(
      g.g_idx.get())(u.qweight.get())(u.scales.get())(u.zeros.get())(u.g_idx.get())(has_gidx)(gate_.qw_stride)(
      gate_.sc_stride)(gate_.z_stride)(gate_.gi_stride)(h)(I)(H)(G)(zero_add)(
      LocalBytes{t.lx * t.ly * static_cast<size_t>(r.rows_per_tile) * 4 * sizeof(float)});
  launch_kernel(s, k, 3, {static_cast<size_t>((g.N + 3) / 4), t.ly, static_cast<size_t>(r.max_tiles)}, {t.lx, t.ly, 1});
}

void IntWoMoeExperts::enqueue_down(const Session& s, const MoeRouting& r, cl_mem h, cl_mem ypair) const {
  const bool eight = r.rows_per_tile == 8;
  const Kernel& k = eight ? down8_ : down1_;
  const Tile t = eight ? tuning_.prefill : tuning_.decode;
  const IntDeviceBuffers& d = down_.w;
  const cl_int topk = r.top_k, has_gidx = d.has_g_idx, H = static_cast<cl_int>(d.N), I = static_cast<cl_int>(d.K);
  const cl_int G = d.group_size, zero_add = d.zero_add;
  ArgSetter{k}(h)(r.sorted_pairs)(r.tiles)(r.num_tiles)(topk)(d.qweight.get())(d.scales.get())(d.zeros.get())(
      d.g_idx.get())(has_gidx)(down_.qw_stride)(down_.sc_stride)(down_.z_stride)(down_.gi_stride)(ypair)(H)(I)(G)(
      zero_add)(LocalBytes{t.lx * t.ly * static_cast<size_t>(r.rows_per_tile) * 4 * sizeof(float)});
  launch_kernel(s, k, 3, {static_cast<size_t>((d.N + 3) / 4), t.ly, static_cast<size_t>(r.max_tiles)}, {t.lx, t.ly, 1});
}

}  // namespace incq::inc_xpu
