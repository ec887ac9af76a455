// Differential tests of the fast MoE driver over cpu-int's integer kernels (inc_cpu.fast.int_wo_moe)
// against the reference (inc_cpu.ref.int_wo_moe) through the ABI: GPTQ v1/v2 and AWQ checkpoints
// written by the host's RTN quantizer and packers, 3/4/8-bit, sym/asym, per-channel and grouped,
// act-order, bias; decode and prefill token counts, repeated and empty experts; fp32 and the bf16
// default compute type.
#include <gtest/gtest.h>

#include <thread>

#include "bundle_tensors.hpp"
#include "int_wo_experts.hpp"
#include "moe_fast/moe_fast_int.hpp"
#include "quant/pack.hpp"
#include "quant/rtn.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

using namespace float_fast_test;
namespace quant = incq::host::quant;

namespace {

constexpr const char* kLayer = "model.layers.7.mlp.experts";

struct IntScheme {
  int bits = 4;
  int group = 128;
  bool sym = true;
  int32_t packing = INCQ_PACKING_GPTQ_V1;
  bool act_order = false;
  bool bias = false;
};

std::string describe(const IntScheme& s) {
  return "int" + std::to_string(s.bits) + " g" + std::to_string(s.group) + (s.sym ? " sym" : " asym") + " packing " +
         std::to_string(s.packing) + (s.act_order ? " act-order" : "") + (s.bias ? " bias" : "");
}

void add_int_matrix(BundleBuilder& b, const std::string& p, int64_t K, int64_t N, const IntScheme& s, Rng& r) {
  std::vector<float> w(static_cast<size_t>(K * N));
  for (float& v : w) v = static_cast<float>(r.uniform(-0.1, 0.1));
  std::vector<int32_t> g_idx;
  if (s.act_order) {
    const int64_t G = s.group > 0 ? s.group : K;
    for (int64_t k = 0; k < K; ++k) g_idx.push_back(static_cast<int32_t>(((k * 7) % K) / G));
  }
  const quant::IntWeights q = quant::quantize_rtn(w.data(), K, N, s.bits, s.group, s.sym, g_idx);
  for (const quant::PackedTensor& t : quant::pack_int(q, static_cast<incq_packing>(s.packing), s.act_order)) {
    b.add(p + t.name, t.dtype, t.shape, t.bytes);
  }
  if (s.bias) {
    std::vector<float> bias(static_cast<size_t>(N));
    for (float& v : bias) v = static_cast<float>(r.uniform(-0.2, 0.2));
    add_floats(b, p + "bias", INCQ_DTYPE_BF16, {N}, bias);
  }
}

// A host pool with real threads: every range on its own thread, all running at once.
void threads_for(void*, int64_t n, incq_range_fn fn, void* ctx) {
  std::vector<std::thread> ts;
  for (int64_t i = 0; i < n; ++i) ts.emplace_back([=] { fn(ctx, i, i + 1); });
  for (std::thread& t : ts) t.join();
}

// exec: nullptr = serial.
void check_int_moe(const IntScheme& s, int32_t act_dtype, const char* compute_type, int64_t T, int64_t E, int64_t H,
                   int64_t I, int32_t top_k, uint32_t seed, const incq_exec* exec = nullptr) {
  SCOPED_TRACE(describe(s) + " act " + incq::dtype_name(act_dtype) + " compute " + compute_type + " T=" +
               std::to_string(T) + " E=" + std::to_string(E) + " H=" + std::to_string(H) + " I=" + std::to_string(I));
  Rng r(seed);
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = std::to_string(e) + ".";
    add_int_matrix(b, p + "gate_proj.", H, I, s, r);
    add_int_matrix(b, p + "up_proj.", H, I, s, r);
    add_int_matrix(b, p + "down_proj.", I, H, s, r);
  }
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_MOE;
  d.name = kLayer;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = s.bits;
  d.scheme.group_size = s.group;
  d.scheme.sym = s.sym;
  d.scheme.packing = s.packing;
  d.scheme.act_bits = 16;
  d.scheme.has_g_idx = s.act_order;
  d.act_dtype = act_dtype;
  d.has_bias = s.bias;
  d.num_experts = E;
  d.hidden_size = H;
  d.intermediate_size = I;
  d.top_k = top_k;
  Activations x(act_dtype, T, H);
  fill_activations(x, r, false);
  std::vector<int32_t> ids;
  std::vector<float> wts;
  make_routing(T, E, top_k, r, &ids, &wts);
  Activations y_ref(act_dtype, T, H), y_fast(act_dtype, T, H);
  std::string msg;
  const auto* bundle = b.bundle(s.packing);
  ASSERT_EQ(run_moe("inc_cpu.ref.int_wo_moe", d, bundle, x, ids, wts, y_ref, &msg), INCQ_OK) << msg;

  const incq_impl_desc* impl = inc_cpu_harness::find_impl("inc_cpu.fast.int_wo_moe");
  ASSERT_NE(impl, nullptr);
  incq_device dev = inc_cpu_harness::cpu_device();
  incq_kv kv{"compute_type", compute_type};
  incq_layer* h = nullptr;
  incq_error err{sizeof(incq_error), 0, {}};
  ASSERT_EQ(impl->create(impl->impl_ctx, &d, &dev, &kv, 1, &h, &err), INCQ_OK) << err.message;
  ASSERT_EQ(impl->set_weights(h, bundle, &err), INCQ_OK) << err.message;
  ASSERT_EQ(impl->process_weights(h, &err), INCQ_OK) << err.message;
  incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
  incq_tensor xt = x.tensor(), yt = y_fast.tensor();
  incq_tensor it = inc_cpu_harness::make_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
  incq_tensor wt = inc_cpu_harness::make_tensor(wts.data(), INCQ_DTYPE_F32, {T, top_k});
  const incq_status st = impl->apply_moe(h, &xt, &it, &wt, &yt, exec != nullptr ? exec : &serial, &err);
  impl->destroy(h);
  ASSERT_EQ(st, INCQ_OK) << err.message;

  incq::inc_cpu::BundleTensors bt(bundle, kLayer);
  const incq::inc_cpu::IntWoExperts ex = incq::inc_cpu::load_int_wo_experts(
      bt, kLayer, E, H, I, incq::inc_cpu::IntWoFormat{s.bits, s.packing, s.group, s.sym}, s.bias);
  auto mat = [&](int e, Proj p) -> const incq::inc_cpu::IntWoMatrix& {
    const size_t i = static_cast<size_t>(e);
    return p == Proj::Gate ? ex.gate[i] : p == Proj::Up ? ex.up[i] : ex.down[i];
  };
  const std::vector<double> mag = moe_magnitudes(
      x, H, I, ids, wts, top_k, [&](int e, Proj p, int64_t n, int64_t k) { return mat(e, p).weight_at(k, n); },
      [&](int e, Proj p, int64_t n) { return mat(e, p).bias_at(n); }, 1.0);
  EXPECT_EQ(compare(y_fast, y_ref, mag, incq::inc_cpu::kIntFastMoeTolerance, 1e-11), "");
}

TEST(MoeFastInt, Int4G128SymGptqDecodeAndPrefill) {
  IntScheme s;
  uint32_t seed = 1;
  for (int64_t T : {1, 2, 3, 7, 16, 33}) check_int_moe(s, INCQ_DTYPE_BF16, "auto", T, 6, 256, 128, 4, seed++);
}

TEST(MoeFastInt, SchemeVariantsAndComputeTypes) {
  std::vector<IntScheme> schemes(5);
  schemes[0].group = 32, schemes[0].sym = false, schemes[0].packing = INCQ_PACKING_GPTQ_V2, schemes[0].bias = true;
  schemes[1].bits = 8, schemes[1].group = -1;
  schemes[2].bits = 3, schemes[2].sym = false;
  schemes[3].group = 64, schemes[3].sym = false, schemes[3].packing = INCQ_PACKING_AWQ;
  schemes[4].group = 32, schemes[4].act_order = true;
  uint32_t seed = 40;
  for (const IntScheme& s : schemes) {
    check_int_moe(s, INCQ_DTYPE_F32, "fp32", 3, 5, 128, 96, 2, seed++);
    check_int_moe(s, INCQ_DTYPE_F16, "auto", 5, 5, 128, 96, 3, seed++);
  }
}

// Decode (one token per chunk): experts and gate/up share prepared activations when their
// preparation agrees (no act-order, same compute type). Every scheme variant incl. act-order (its
// own K order per matrix: no sharing), top-k 1 / 4 / 8 with the token picking one expert twice
// (make_routing: that expert gets 2 rows, the others 1, so it must not share theirs), bf16 and fp32
// compute.
TEST(MoeFastInt, DecodeOneTokenSharedPreparationsEveryScheme) {
  std::vector<IntScheme> schemes(6);
  schemes[1].group = 32, schemes[1].sym = false, schemes[1].packing = INCQ_PACKING_GPTQ_V2, schemes[1].bias = true;
  schemes[2].bits = 8, schemes[2].group = -1;
  schemes[3].bits = 3, schemes[3].sym = false;
  schemes[4].group = 64, schemes[4].sym = false, schemes[4].packing = INCQ_PACKING_AWQ;
  schemes[5].group = 32, schemes[5].act_order = true;
  uint32_t seed = 80;
  for (const IntScheme& s : schemes) {
    for (int32_t top_k : {1, 4, 8}) check_int_moe(s, INCQ_DTYPE_BF16, "auto", 1, 9, 128, 96, top_k, seed++);
    check_int_moe(s, INCQ_DTYPE_F32, "fp32", 1, 9, 128, 96, 4, seed++);
  }
}

// The driver's single pass (gate/up items, then down items from one counter; an expert's down
// waits for its last gate/up item) on real threads: more workers than items of one expert, one
// touched expert (every down item waits), decode and prefill token counts.
TEST(MoeFastInt, ThreadedPassMatchesReference) {
  IntScheme s;
  uint32_t seed = 120;
  for (int32_t threads : {2, 3, 8}) {
    const incq_exec ex{sizeof(incq_exec), threads, threads_for, nullptr};
    check_int_moe(s, INCQ_DTYPE_BF16, "auto", 1, 9, 256, 128, 1, seed++, &ex);
    check_int_moe(s, INCQ_DTYPE_BF16, "auto", 1, 9, 256, 200, 8, seed++, &ex);
    check_int_moe(s, INCQ_DTYPE_F32, "fp32", 5, 9, 128, 96, 4, seed++, &ex);
    check_int_moe(s, INCQ_DTYPE_BF16, "auto", 40, 6, 128, 64, 2, seed++, &ex);
  }
}

}  // namespace
