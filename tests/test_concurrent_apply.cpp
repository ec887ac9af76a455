// apply called from several host threads at once on one processed layer: results identical to a
// serial call, and inc_cpu's own threads stay within its budget (plugin option max_threads) however
// many callers ask for helpers — callers share the pool instead of each starting threads.
#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "int_fast_abi_support.hpp"

namespace {

using namespace int_fast_abi;
using int_fast_test::MatrixCase;

int process_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

// This test initializes the plugin itself, with options (the harness's initialized_plugin passes none).
struct Plugin {
  const incq_plugin_api* api = nullptr;
  FakeHost host;
  incq_host_api table{};
  std::string error;
  explicit Plugin(std::vector<incq_kv> options) {
    void* lib = dlopen(plugin_path(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      error = dlerror();
      return;
    }
    auto entry = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(lib, INCQ_PLUGIN_ENTRY_SYMBOL));
    api = entry();
    table = host.table();
    incq_error err{sizeof(incq_error), 0, {}};
    if (api->initialize(&table, options.data(), options.size(), &err) != INCQ_OK) {
      error = err.message;
      api = nullptr;
    }
  }
  ~Plugin() {
    if (api != nullptr) api->shutdown();
  }
  const incq_impl_desc* impl(const std::string& name) const {
    for (const incq_impl_desc* d : host.impls)
      if (name == d->name) return d;
    return nullptr;
  }
};

TEST(ConcurrentApply, ManyCallersShareTheThreadBudget) {
  const int before = process_threads();
  constexpr int kBudget = 3, kCallers = 4, kCalls = 25;
  Plugin plugin({{"max_threads", "3"}, {"isa", "avx512bf16"}});
  ASSERT_NE(plugin.api, nullptr) << plugin.error;
  // The pool starts budget - 1 workers at initialize, and nothing else starts threads later.
  EXPECT_EQ(process_threads(), before + kBudget - 1);

  for (const char* name : {"inc_cpu.fast.int_wo_linear", "inc_cpu.fast.int_wo_linear_int8"}) {
    const incq_impl_desc* impl = plugin.impl(name);
    ASSERT_NE(impl, nullptr) << name;
    MatrixCase c;
    c.K = 384; c.N = 520; c.group_size = 128; c.bias = true;
    BundleBuilder b;
    add_tensors(b, int_fast_test::make_matrix(c, 8));
    OptLayer layer(impl, linear_desc(c, INCQ_DTYPE_BF16, "l"), {});
    ASSERT_EQ(layer.status, INCQ_OK) << layer.message;
    ASSERT_EQ(layer.load(b.bundle(c.packing)), INCQ_OK) << layer.message;

    const int64_t M = 3;
    Activations x(INCQ_DTYPE_BF16, M, c.K);
    const std::vector<float> v = int_fast_test::make_x(M, c.K, 1);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < c.K; ++k) x.set(m, k, v[m * c.K + k]);
    Activations expected(INCQ_DTYPE_BF16, M, c.N);
    ASSERT_EQ(layer.apply(x, expected), INCQ_OK);

    std::atomic<int> mismatches{0}, failures{0}, max_threads_seen{0};
    std::atomic<bool> stop_sampling{false};
    std::thread sampler([&] {
      while (!stop_sampling) {
        const int t = process_threads();
        for (int seen = max_threads_seen.load(); t > seen && !max_threads_seen.compare_exchange_weak(seen, t);) {
        }
        std::this_thread::yield();
      }
    });
    std::vector<std::thread> callers;
    for (int t = 0; t < kCallers; ++t) {
      callers.emplace_back([&, t] {
        // Every caller asks for more threads than the budget; half go through a host pool.
        const incq_exec own = own_threads_exec(8), host = halving_exec();
        Activations y(INCQ_DTYPE_BF16, M, c.N);
        for (int i = 0; i < kCalls; ++i) {
          if (layer.apply(x, y, (t % 2 == 0) ? &own : &host) != INCQ_OK) ++failures;
          if (std::memcmp(y.bytes.data(), expected.bytes.data(), y.bytes.size()) != 0) ++mismatches;
        }
      });
    }
    for (auto& th : callers) th.join();
    stop_sampling = true;
    sampler.join();
    EXPECT_EQ(failures.load(), 0) << name;
    EXPECT_EQ(mismatches.load(), 0) << name;
    // The process: this test's threads (callers + sampler) plus the pool, never more.
    EXPECT_LE(max_threads_seen.load(), before + kBudget - 1 + kCallers + 1) << name;
  }
}

TEST(ConcurrentApply, PluginOptionsAreCheckedAndNamed) {
  // Loading the same library again returns the same instance: initialize runs again with new options.
  for (const auto& bad : std::vector<std::vector<incq_kv>>{
           {{"max_threads", "0"}}, {{"max_threads", "many"}}, {{"isa", "sse9"}}, {{"threads", "2"}}}) {
    Plugin p(bad);
    EXPECT_EQ(p.api, nullptr);
    EXPECT_NE(p.error.find(bad[0].key), std::string::npos) << p.error;
  }
}

}  // namespace
