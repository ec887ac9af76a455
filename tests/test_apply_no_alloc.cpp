// apply does no heap allocation: every allocation entry point of this process (malloc family and
// operator new, which the dlopen'ed plugin binds to through symbol interposition) is counted while
// apply runs — the first call included, on every threading path (serial, inc_cpu's own workers,
// a host parallel_for).
//
// Adding an implementation (e.g. cpu-float's FP8/MX/MoE fast paths): append a row to cases()
// below: a name, and a function that creates, loads and returns a ready Runner whose run() makes
// one apply call.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>

#include "int_fast_abi_support.hpp"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
inline void note() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  note();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  note();
  return __libc_realloc(p, n);
}
void* memalign(size_t al, size_t n) {
  note();
  return __libc_memalign(al, n);
}
void* aligned_alloc(size_t al, size_t n) {
  note();
  return __libc_memalign(al, n);
}
int posix_memalign(void** out, size_t al, size_t n) {
  note();
  void* p = __libc_memalign(al, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}

void* operator new(size_t n) {
  void* p = malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return malloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return malloc(n); }
void* operator new(size_t n, std::align_val_t al) {
  void* p = memalign(static_cast<size_t>(al), n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n, std::align_val_t al) { return operator new(n, al); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { free(p); }

namespace {

using namespace int_fast_abi;
using int_fast_test::MatrixCase;

struct Runner {
  virtual ~Runner() = default;
  virtual incq_status run(const incq_exec* exec) = 0;
};

// A Linear layer of `impl_name` over a random integer checkpoint, with its x and y.
struct IntLinearRunner : Runner {
  BundleBuilder bundle;
  std::unique_ptr<OptLayer> layer;
  Activations x, y;
  IntLinearRunner(const char* impl_name, const MatrixCase& c, int act_bits, std::vector<incq_kv> options, int64_t M)
      : x(INCQ_DTYPE_BF16, M, c.K), y(INCQ_DTYPE_BF16, M, c.N) {
    const incq_impl_desc* impl = find_impl(impl_name);
    if (impl == nullptr) throw std::runtime_error(std::string("not registered: ") + impl_name);
    add_tensors(bundle, int_fast_test::make_matrix(c, 3));
    layer = std::make_unique<OptLayer>(impl, linear_desc(c, INCQ_DTYPE_BF16, "l", act_bits), options);
    if (layer->status != INCQ_OK || layer->load(bundle.bundle(c.packing)) != INCQ_OK)
      throw std::runtime_error(impl_name + std::string(": ") + layer->message);
    const std::vector<float> v = int_fast_test::make_x(M, c.K, 5);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < c.K; ++k) x.set(m, k, v[m * c.K + k]);
    prepare();
  }
  incq_tensor xt{}, yt{};  // made up front: the harness's tensor() builds a std::vector
  void prepare() {
    xt = x.tensor();
    yt = y.tensor();
  }
  incq_status run(const incq_exec* exec) override {
    incq_error err{sizeof(incq_error), 0, {}};
    return layer->impl->apply_linear(layer->handle, &xt, &yt, exec, &err);
  }
};

struct Case {
  std::string name;
  std::function<std::unique_ptr<Runner>()> make;
};

std::vector<Case> cases() {
  MatrixCase g128;  // int4 sym GPTQ, act order, more rows than one apply pass (kApplyRowChunk, kPrefillRowChunk)
  g128.K = 256; g128.N = 136; g128.group_size = 128; g128.act_order = true; g128.bias = true;
  MatrixCase asym3 = g128;
  asym3.bits = 3; asym3.sym = false; asym3.act_order = false; asym3.group_size = -1; asym3.N = 160;
  MatrixCase w4a8 = g128;
  w4a8.act_order = false;
  std::vector<Case> v;
  for (int64_t M : {1, 40, 64, 600}) {  // 40 / 64: decode kernels; 600: the prefill GEMM path (two passes: 512 + 88 rows)
    const std::string m = " M " + std::to_string(M);
    v.push_back({"inc_cpu.fast.int_wo_linear bf16" + m, [=] {
                   return std::make_unique<IntLinearRunner>("inc_cpu.fast.int_wo_linear", g128, 16,
                                                            std::vector<incq_kv>{}, M);
                 }});
    v.push_back({"inc_cpu.fast.int_wo_linear fp32 3-bit asym" + m, [=] {
                   return std::make_unique<IntLinearRunner>("inc_cpu.fast.int_wo_linear", asym3, 16,
                                                            std::vector<incq_kv>{{"compute_type", "fp32"}}, M);
                 }});
    v.push_back({"inc_cpu.fast.int_wo_linear_int8" + m, [=] {
                   return std::make_unique<IntLinearRunner>("inc_cpu.fast.int_wo_linear_int8", g128, 16,
                                                            std::vector<incq_kv>{}, M);
                 }});
    v.push_back({"inc_cpu.fast.w4a8_int_linear" + m, [=] {
                   return std::make_unique<IntLinearRunner>("inc_cpu.fast.w4a8_int_linear", w4a8, 8,
                                                            std::vector<incq_kv>{}, M);
                 }});
  }
  return v;
}

TEST(ApplyNoAlloc, CountingHookSeesAllocations) {
  // The hook must see what it is meant to catch, or the test below could pass vacuously.
  g_allocations = 0;
  g_counting = true;
  void* p = std::malloc(16);
  auto* q = new int(3);
  g_counting = false;
  std::free(p);
  delete q;
  EXPECT_EQ(g_allocations.load(), 2);
}

TEST(ApplyNoAlloc, NoHeapAllocationInsideApply) {
  ASSERT_NE(initialized_plugin(), nullptr) << plugin_path();
  const incq_exec serial = own_threads_exec(1), own = own_threads_exec(4), host = halving_exec();
  const std::pair<const char*, const incq_exec*> execs[] = {
      {"no exec", nullptr}, {"serial", &serial}, {"own workers", &own}, {"host parallel_for", &host}};
  for (const Case& c : cases()) {
    std::unique_ptr<Runner> r = c.make();
    for (const auto& [exec_name, exec] : execs) {
      g_allocations = 0;
      g_counting = true;
      const incq_status s = r->run(exec);
      g_counting = false;
      EXPECT_EQ(s, INCQ_OK) << c.name << " / " << exec_name;
      EXPECT_EQ(g_allocations.load(), 0) << c.name << " / " << exec_name;
    }
  }
}

}  // namespace
