// apply of the fast float-format Linear and of the fast MoE driver (FP8, MX/NV with activation
// quantization, integer experts) allocates nothing on the heap: a counting operator new around the
// calls, decode and prefill row counts, serially and through a host pool. Scratch comes from the
// pool reserved at process time (float_fast/scratch_pool.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "bundle_tensors.hpp"
#include "float_fast/float_gemm.hpp"
#include "float_fast/float_linear_fast.hpp"
#include "float_fast/scratch_pool.hpp"
#include "fp8_experts.hpp"
#include "fp8_weights.hpp"
#include "int_wo_experts.hpp"
#include "moe_fast/moe_fast_float.hpp"
#include "moe_fast/moe_fast_int.hpp"
#include "mx_act_quant.hpp"
#include "mx_experts.hpp"
#include "mx_weights.hpp"
#include "quant/pack.hpp"
#include "quant/rtn.hpp"
#include "test_inc_cpu_float_fast_support.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
}  // namespace

void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using namespace float_fast_test;
using namespace incq::inc_cpu;
namespace quant = incq::host::quant;

namespace {

// A std::string, as the glue passes the layer's name: a literal would build a temporary per call.
const std::string kLayer = "model.layers.0.mlp.experts";

bool fast_cpu() { return float_fast_cpu_supported(); }

// A pool that runs every range on the calling thread, last first: exercises the parallel_for path
// of the kernels without threads (the allocation count is per process).
void reverse_pool(void*, int64_t n, incq_range_fn fn, void* ctx) {
  for (int64_t i = n - 1; i >= 0; --i) fn(ctx, i, i + 1);
}

template <typename Call>
long allocations_of(Call&& call) {
  call();  // warm: first-use statics
  g_allocs = 0;
  g_counting = true;
  call();
  g_counting = false;
  return g_allocs.load();
}

std::vector<incq_exec> execs() {
  return {incq_exec{sizeof(incq_exec), 1, nullptr, nullptr}, incq_exec{sizeof(incq_exec), 4, reverse_pool, nullptr}};
}

TEST(FloatFastNoAlloc, LinearFp8AndNvW4A4) {  // and FP8 weight-only through the bf16 GEMV
  if (!fast_cpu()) GTEST_SKIP() << "no AVX-512: the fast float kernels are not used on this CPU";
  Rng r(1);
  const int64_t K = 300, N = 70;
  // FP8 block-scaled W8A8.
  BundleBuilder b;
  std::vector<uint8_t> codes(static_cast<size_t>(N * K));
  for (auto& c : codes) c = static_cast<uint8_t>(r.integer(0, 0x7E));
  b.add("weight", INCQ_DTYPE_F8_E4M3, {N, K}, codes);
  add_floats(b, "weight_scale_inv", INCQ_DTYPE_F32, {1, 3}, {0.5f, 0.25f, 1.0f});
  BundleTensors bt(b.bundle(INCQ_PACKING_FP8_BLOCK), kLayer);
  Fp8ActQuant aq;
  aq.enabled = true;
  aq.group = 128;
  const FloatMatrix fp8 = float_matrix_from_fp8(
      load_fp8_matrix(bt, kLayer, "", K, N, Fp8Format{INCQ_DTYPE_F8_E4M3, INCQ_PACKING_FP8_BLOCK, 0, 128, 128}, false),
      aq);
  // NVFP4 W4A4.
  MxScheme nv;
  nv.family = INCQ_FAMILY_NV_FP;
  nv.act_bits = 4;
  BundleBuilder bn;
  add_mx_matrix(bn, "", 320, N, nv, r);
  BundleTensors btn(bn.bundle(INCQ_PACKING_LLM_COMPRESSOR), kLayer);
  MxFormat f;
  ActQuant q;
  std::string why;
  ASSERT_TRUE(mx_format_of(INCQ_FAMILY_NV_FP, 4, &f, &why));
  ASSERT_TRUE(act_quant_of(INCQ_FAMILY_NV_FP, 4, 16, &q, &why));
  const FloatMatrix nvm = float_matrix_from_mx(load_mx_matrix(btn, kLayer, "", 320, N, f, q, false));
  // The same FP8 weights weight-only with compute_type auto: bf16 x at M = 1 takes the bf16 GEMV.
  FloatMatrix fp8_wo = float_matrix_from_fp8(
      load_fp8_matrix(bt, kLayer, "", K, N, Fp8Format{INCQ_DTYPE_F8_E4M3, INCQ_PACKING_FP8_BLOCK, 0, 128, 128}, false),
      Fp8ActQuant{});
  fp8_wo.bf16_mode = true;
  ASSERT_TRUE(fp8_wo.bf16_ok);
  for (const FloatMatrix* w : {&fp8, &nvm, static_cast<const FloatMatrix*>(&fp8_wo)}) {
    ScratchPool::instance().reserve(float_linear_scratch_bytes(*w));
    for (int64_t M : {1, 33}) {
      Activations x(INCQ_DTYPE_BF16, M, w->K), y(INCQ_DTYPE_BF16, M, N);
      fill_activations(x, r);
      incq_tensor xt = x.tensor(), yt = y.tensor();
      for (const incq_exec& ex : execs()) {
        EXPECT_EQ(allocations_of([&] { float_linear_apply_fast(*w, kLayer, INCQ_DTYPE_BF16, &xt, &yt, &ex); }), 0)
            << "M=" << M << " threads " << ex.max_threads;
      }
    }
  }
}

template <typename Ops, typename Mat>
void expect_moe_no_alloc(const MoeFastExperts<Mat>& ex, int32_t top_k, Rng& r) {
  ScratchPool::instance().reserve(moe_fast_scratch_bytes<Ops>(ex, top_k));
  for (int64_t T : {1, 20}) {
    Activations x(INCQ_DTYPE_BF16, T, ex.hidden), y(INCQ_DTYPE_BF16, T, ex.hidden);
    fill_activations(x, r);
    std::vector<int32_t> ids;
    std::vector<float> wts;
    make_routing(T, ex.num_experts, top_k, r, &ids, &wts);
    incq_tensor xt = x.tensor(), yt = y.tensor();
    incq_tensor it = inc_cpu_harness::make_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
    incq_tensor wt = inc_cpu_harness::make_tensor(wts.data(), INCQ_DTYPE_F32, {T, top_k});
    for (const incq_exec& e : execs()) {
      EXPECT_EQ(allocations_of([&] {
                  moe_fast_apply<Ops>(ex, kLayer, INCQ_DTYPE_BF16, top_k, false, &xt, &it, &wt, &yt, &e);
                }),
                0)
          << "T=" << T << " threads " << e.max_threads;
    }
  }
}

TEST(FloatFastNoAlloc, MoeMxW4A4AndFp8) {
  if (!fast_cpu()) GTEST_SKIP() << "no AVX-512: the fast float kernels are not used on this CPU";
  Rng r(2);
  const int64_t E = 4, H = 64, I = 96;
  MxScheme s;
  s.act_bits = 4;
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    const std::string p = std::to_string(e) + ".";
    add_mx_matrix(b, p + "gate_proj.", H, I, s, r);
    add_mx_matrix(b, p + "up_proj.", H, I, s, r);
    add_mx_matrix(b, p + "down_proj.", I, H, s, r);
  }
  BundleTensors bt(b.bundle(INCQ_PACKING_LLM_COMPRESSOR), kLayer);
  MxFormat f;
  ActQuant q;
  std::string why;
  ASSERT_TRUE(mx_format_of(INCQ_FAMILY_MX_FP, 4, &f, &why));
  ASSERT_TRUE(act_quant_of(INCQ_FAMILY_MX_FP, 4, 32, &q, &why));
  expect_moe_no_alloc<FloatExpertOps>(float_experts_from_mx(load_mx_experts(bt, kLayer, E, H, I, f, q, false)), 2, r);

  BundleBuilder b8;
  for (int64_t e = 0; e < E; ++e) {
    for (const char* proj : {"gate_proj.", "up_proj.", "down_proj."}) {
      const bool down = std::string(proj) == "down_proj.";
      const int64_t K = down ? I : H, N = down ? H : I;
      std::vector<uint8_t> codes(static_cast<size_t>(N * K));
      for (auto& c : codes) c = static_cast<uint8_t>(r.integer(0, 0x50));
      const std::string p = std::to_string(e) + "." + proj;
      b8.add(p + "weight", INCQ_DTYPE_F8_E4M3, {N, K}, codes);
      add_floats(b8, p + "weight_scale", INCQ_DTYPE_BF16, {N}, std::vector<float>(static_cast<size_t>(N), 0.125f));
    }
  }
  BundleTensors bt8(b8.bundle(INCQ_PACKING_FP8), kLayer);
  expect_moe_no_alloc<FloatExpertOps>(
      float_experts_from_fp8(load_fp8_experts(bt8, kLayer, E, H, I, Fp8Format{INCQ_DTYPE_F8_E4M3, INCQ_PACKING_FP8, -1, 0, 0}, false),
                             Fp8ActQuant{}),
      3, r);
}

TEST(FloatFastNoAlloc, MoeInt4G128) {
  Rng r(3);
  const int64_t E = 4, H = 256, I = 128;
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    for (const char* proj : {"gate_proj.", "up_proj.", "down_proj."}) {
      const bool down = std::string(proj) == "down_proj.";
      const int64_t K = down ? I : H, N = down ? H : I;
      std::vector<float> w(static_cast<size_t>(K * N));
      for (float& v : w) v = static_cast<float>(r.uniform(-0.1, 0.1));
      const quant::IntWeights qw = quant::quantize_rtn(w.data(), K, N, 4, 128, true);
      for (const quant::PackedTensor& t : quant::pack_int(qw, INCQ_PACKING_GPTQ_V1, false))
        b.add(std::to_string(e) + "." + proj + t.name, t.dtype, t.shape, t.bytes);
    }
  }
  BundleTensors bt(b.bundle(INCQ_PACKING_GPTQ_V1), kLayer);
  const IntWoExperts ref = load_int_wo_experts(bt, kLayer, E, H, I, IntWoFormat{4, INCQ_PACKING_GPTQ_V1, 128, true}, false);
  for (auto ct : {int_fast::ComputeType::kBf16, int_fast::ComputeType::kInt8})
    expect_moe_no_alloc<IntExpertOps>(int_experts_from_ref(ref, ct), 2, r);
}

}  // namespace
