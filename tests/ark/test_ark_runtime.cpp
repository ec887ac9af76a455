// With ARK installed (label "ark"; INCQ_ARK_PYTHON or a python on PATH that has auto-round-lib):
// every registered ark implementation against the double-precision oracle, its per-layer options,
// its selection predicate, concurrent apply, and `incq demo` choosing ARK. When ARK is absent each
// test skips with the plugin's own reason.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"
#include "quant/dequantize.hpp"
#include "quant/int_weights.hpp"
#include "quant/unpack.hpp"
#include "run_process.hpp"
#include "support/fake_host.hpp"
#include "support/int_layer_case.hpp"

namespace {

using incq::abi_test::IntScheme;
using incq::abi_test::LayerCase;
namespace quant = incq::host::quant;

constexpr const char* kImpl = "ark.cpu.int_wo_linear";
// What the default fp32 compute must meet (measured ~3e-7 of sum|x*w|): far tighter than the
// descriptor's 1e-2, which covers the int8 and bf16 compute types a layer option may select.
constexpr double kFp32Tolerance = 1e-5;

struct Plugin {
  const incq_plugin_api* api = nullptr;
  incq::abi_test::FakeHost host;
  std::string unusable;  // ARK's reason when not usable
  const incq_impl_desc* int_linear = nullptr;
  const incq_impl_desc* xpu_linear = nullptr;

  Plugin() {
    void* lib = dlopen(INCQ_TEST_ARK_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) { unusable = std::string("cannot load the plugin: ") + dlerror(); return; }
    auto get = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(lib, INCQ_PLUGIN_ENTRY_SYMBOL));
    api = get();
    incq_error err{};
    err.struct_size = sizeof err;
    if (api->initialize(host.table(), nullptr, 0, &err) != INCQ_OK) { unusable = err.message; return; }
    host.close();
    for (const incq_impl_desc* d : host.registered()) {
      if (std::string(d->name) == kImpl) int_linear = d;
      if (std::string(d->name) == "ark.xpu.int_wo_linear") xpu_linear = d;
    }
    incq_availability a{};
    a.struct_size = sizeof a;
    api->probe(INCQ_DEVICE_CPU, &a);
    if (!a.available) unusable = a.detail;
  }
};

Plugin& plugin() {
  static Plugin* p = new Plugin;
  return *p;
}

#define REQUIRE_ARK()                                                      \
  do {                                                                     \
    if (!plugin().unusable.empty()) GTEST_SKIP() << "ARK is not usable: " << plugin().unusable; \
    ASSERT_NE(plugin().int_linear, nullptr);                               \
  } while (0)

double load(int32_t dtype, const uint8_t* p) {
  float f;
  uint16_t h;
  switch (dtype) {
    case INCQ_DTYPE_F32: std::memcpy(&f, p, 4); return f;
    case INCQ_DTYPE_BF16: std::memcpy(&h, p, 2); return incq::bf16_to_float(h);
    default: std::memcpy(&h, p, 2); return incq::half_to_float(h);
  }
}

const quant::PackedTensor* tensor(const LayerCase& c, const std::string& name) {
  for (const auto& t : c.tensors)
    if (t.name == name) return &t.packed;
  return nullptr;
}

// Edits the case the way real checkpoints differ from RTN output — negative scales, a bias, zero
// rows of x — and recomputes the oracle from the edited tensors with the host's own reader.
void add_edge_cases(LayerCase& c, uint32_t seed) {
  const int64_t K = c.in_width, N = c.out_width;
  for (auto& t : c.tensors) {
    if (t.name != "scales") continue;
    for (size_t i = seed % 3; i * 2 < t.packed.bytes.size(); i += 3) t.packed.bytes[i * 2 + 1] ^= 0x80;  // fp16 sign
  }
  quant::PackedTensor bias{"bias", INCQ_DTYPE_F16, {N}, std::vector<uint8_t>(static_cast<size_t>(N) * 2)};
  for (int64_t n = 0; n < N; ++n) {
    const uint16_t h = incq::float_to_half(static_cast<float>(std::sin(0.37 * n + seed)));
    std::memcpy(bias.bytes.data() + n * 2, &h, 2);
  }
  c.tensors.push_back({"bias", bias});
  c.fields.has_bias = 1;
  const size_t es = incq::dtype_size(c.scheme.act_dtype);
  if (c.rows >= 3) std::memset(c.input.data() + 1 * K * es, 0, static_cast<size_t>(K) * es);  // row 1 all zero
  const quant::IntWeights w = quant::unpack_int(c.layer_name, quant::tensor_view(*tensor(c, "qweight")),
                                                quant::tensor_view(*tensor(c, "qzeros")),
                                                quant::tensor_view(*tensor(c, "scales")), nullptr, K, N, c.scheme.bits,
                                                c.scheme.group_size, c.scheme.sym, c.scheme.packing);
  const std::vector<double> W = quant::dequantize(w);
  c.expected.assign(static_cast<size_t>(c.rows * N), 0.0);
  c.magnitude.assign(static_cast<size_t>(c.rows * N), 0.0);
  for (int64_t m = 0; m < c.rows; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      const double b = incq::half_to_float(static_cast<uint16_t>(bias.bytes[n * 2] | (bias.bytes[n * 2 + 1] << 8)));
      double y = b, mag = std::fabs(b);
      for (int64_t k = 0; k < K; ++k) {
        const double x = load(c.scheme.act_dtype, c.input.data() + (m * K + k) * es);
        y += x * W[k * N + n];
        mag += std::fabs(x * W[k * N + n]);
      }
      c.expected[m * N + n] = y;
      c.magnitude[m * N + n] = mag;
    }
  }
}

// A processed layer of the case (created directly: create accepts what can_implement's memory
// policy would leave to inc_cpu, so small shapes can be tested).
struct ArkLayer {
  const incq_impl_desc* d;
  incq_layer* layer = nullptr;
  std::string refused;  // create's UNSUPPORTED reason (a configuration ARK's self-test failed here)
  ArkLayer(const incq_impl_desc* desc, const LayerCase& c, const std::vector<incq_kv>& options) : d(desc) {
    const incq_layer_desc ld = c.desc();
    const incq_device dev = incq::abi_test::cpu_device();
    incq_error err{};
    err.struct_size = sizeof err;
    const incq_status st = d->create(d->impl_ctx, &ld, &dev, options.data(), options.size(), &layer, &err);
    if (st == INCQ_ERR_UNSUPPORTED && std::string(err.message).find("failed incq's self-test on this CPU") != std::string::npos) {
      refused = err.message;
      return;
    }
    if (st != INCQ_OK) {
      ADD_FAILURE() << "create: " << err.message;
      return;
    }
    const std::vector<incq_named_tensor> named = c.named_views();
    const incq_weight_bundle bundle{sizeof(incq_weight_bundle), c.scheme.packing, named.size(), named.data()};
    if (d->set_weights(layer, &bundle, &err) != INCQ_OK) ADD_FAILURE() << "set_weights: " << err.message;
    else if (d->process_weights(layer, &err) != INCQ_OK) ADD_FAILURE() << "process_weights: " << err.message;
  }
  ~ArkLayer() {
    if (layer) d->destroy(layer);
  }
  std::vector<uint8_t> apply(const LayerCase& c, int threads) const {
    std::vector<uint8_t> out = incq::abi_test::output_buffer(c);
    incq_tensor y = incq::abi_test::output_view(c, out);
    const incq_tensor x = c.input_view();
    incq_exec exec = incq::abi_test::serial_exec();
    exec.max_threads = threads;
    incq_error err{};
    err.struct_size = sizeof err;
    if (d->apply_linear(layer, &x, &y, &exec, &err) != INCQ_OK) ADD_FAILURE() << "apply: " << err.message;
    return out;
  }
};

int& refused_configurations() {
  static int n = 0;
  return n;
}
int& tested_configurations() {
  static int n = 0;
  return n;
}

// Runs the case through ARK and judges it; a configuration the plugin's self-test refused on this
// CPU is reported and counted instead (the plugin never uses it, inc_cpu serves those layers).
std::string run_case(const IntScheme& s, int64_t M, int64_t K, int64_t N, uint32_t seed, const std::string& compute,
                     double tolerance) {
  LayerCase c = incq::abi_test::make_linear_case(s, M, K, N, seed);
  add_edge_cases(c, seed);
  std::vector<incq_kv> options;
  if (!compute.empty()) options.push_back({"compute_type", compute.c_str()});
  ArkLayer layer(plugin().int_linear, c, options);
  if (!layer.refused.empty()) {  // never used on this CPU: say so, and count it
    ++refused_configurations();
    std::printf("refused (not a failure): %s\n", layer.refused.c_str());
    return "";
  }
  ++tested_configurations();
  if (layer.layer == nullptr) return "no layer";
  // One thread allowed: ARK must still compute every output (it needs all CPUs, see README).
  return incq::abi_test::contract_violation(c, layer.apply(c, 1), tolerance);
}

std::string label(const IntScheme& s, int64_t M, int64_t K, int64_t N) {
  return incq::abi_test::describe(s) + " M=" + std::to_string(M) + " K=" + std::to_string(K) + " N=" + std::to_string(N);
}

TEST(ArkRuntime, ReportsUsableWithTheBackendItLoaded) {
  REQUIRE_ARK();
  incq_availability a{};
  a.struct_size = sizeof a;
  ASSERT_EQ(plugin().api->probe(INCQ_DEVICE_CPU, &a), INCQ_OK);
  EXPECT_NE(std::string(a.detail).find("auto_round_kernel_cpu"), std::string::npos) << a.detail;
  // XPU is reported with its reason, never usable through incq's OpenCL devices.
  ASSERT_EQ(plugin().api->probe(INCQ_DEVICE_OPENCL, &a), INCQ_OK);
  EXPECT_EQ(a.available, 0);
  EXPECT_NE(std::string(a.detail), "");
}

// Every (bits, sym, packing, group) the descriptor claims, default (fp32) compute, with negative
// scales, a bias and a zero row; K and N not multiples of ARK's tiles.
TEST(ArkRuntime, EverySchemeMatchesTheOracleInFp32Compute) {
  REQUIRE_ARK();
  const int tested_before = tested_configurations();
  uint32_t seed = 11;
  for (int bits : {2, 4, 8})
    for (bool sym : {true, false})
      for (incq_packing p : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2, INCQ_PACKING_AWQ})
        for (int group : {32, 64, -1}) {
          if (p == INCQ_PACKING_AWQ && bits != 4) continue;
          IntScheme s{bits, sym, p, group, INCQ_DTYPE_F32};
          for (int64_t M : {1, 3, 33}) {
            const int64_t K = 192, N = 80;
            SCOPED_TRACE(label(s, M, K, N));
            EXPECT_EQ(run_case(s, M, K, N, seed++, "", kFp32Tolerance), "");
          }
        }
  EXPECT_GT(tested_configurations(), tested_before) << "ARK's self-test refused every configuration on this CPU";
}

TEST(ArkRuntime, EveryTokenCountAndActivationDtype) {
  REQUIRE_ARK();
  uint32_t seed = 101;
  for (int32_t act : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
    for (int64_t M : {1, 2, 3, 7, 16, 33, 512}) {
      IntScheme s{4, true, INCQ_PACKING_GPTQ_V2, 32, act};
      const int64_t K = 160, N = 104;
      SCOPED_TRACE(label(s, M, K, N));
      EXPECT_EQ(run_case(s, M, K, N, seed++, "", kFp32Tolerance), "");
    }
}

// The compute types a layer option may select meet the descriptor's declared tolerance.
TEST(ArkRuntime, ComputeTypeOptionsMeetTheDeclaredTolerance) {
  REQUIRE_ARK();
  const double declared = plugin().int_linear->tolerance;
  uint32_t seed = 201;
  for (const char* compute : {"int8", "auto", "bf16", "fp32"})
    for (int bits : {2, 4, 8})
      for (bool sym : {true, false})
        for (int64_t M : {1, 16, 33}) {
          IntScheme s{bits, sym, INCQ_PACKING_GPTQ_V2, 64, INCQ_DTYPE_F32};
          SCOPED_TRACE(std::string(compute) + " " + label(s, M, 256, 96));
          EXPECT_EQ(run_case(s, M, 256, 96, seed++, compute, declared), "");
        }
}

TEST(ArkRuntime, BadOptionIsAnErrorNamingLayerAndValue) {
  REQUIRE_ARK();
  LayerCase c = incq::abi_test::make_linear_case(IntScheme{}, 1, 64, 32, 3);
  const incq_layer_desc ld = c.desc();
  const incq_device dev = incq::abi_test::cpu_device();
  incq_error err{};
  err.struct_size = sizeof err;
  incq_layer* layer = nullptr;
  const incq_kv bad{"compute_type", "int4"};
  EXPECT_EQ(plugin().int_linear->create(nullptr, &ld, &dev, &bad, 1, &layer, &err), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("option compute_type = 'int4'"), std::string::npos) << err.message;
  EXPECT_EQ(layer, nullptr);
}

std::string can_implement(const IntScheme& s, int64_t K, int64_t N, bool g_idx = false) {
  LayerCase c = incq::abi_test::make_linear_case(s, 1, K, N, 5);
  incq_layer_desc ld = c.desc();
  ld.scheme.has_g_idx = g_idx ? 1 : 0;
  const incq_device dev = incq::abi_test::cpu_device();
  incq_error err{};
  err.struct_size = sizeof err;
  return plugin().int_linear->can_implement(nullptr, &ld, &dev, &err) == INCQ_OK ? "" : err.message;
}

TEST(ArkRuntime, SelectionAcceptsLargeLayersAndSaysWhyNotForOthers) {
  REQUIRE_ARK();
  EXPECT_EQ(can_implement(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 128}, 1024, 1024), "");
  EXPECT_EQ(can_implement(IntScheme{8, false, INCQ_PACKING_GPTQ_V1, 128}, 1024, 512), "");
  EXPECT_NE(can_implement(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 32}, 128, 64).find("over 1.05 x the"),
            std::string::npos);
  EXPECT_NE(can_implement(IntScheme{3, true, INCQ_PACKING_GPTQ_V2, 32}, 1024, 1024).find("bits = 3"), std::string::npos);
  EXPECT_NE(can_implement(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 128}, 1024, 1024, true).find("g_idx"),
            std::string::npos);
}

TEST(ArkRuntime, ResidentBytesAreTheBlobAndBias) {
  REQUIRE_ARK();
  LayerCase c = incq::abi_test::make_linear_case(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 128}, 1, 1024, 1024, 9);
  ArkLayer layer(plugin().int_linear, c, {});
  ASSERT_NE(layer.layer, nullptr);
  uint64_t bytes = 0;
  incq_error err{};
  err.struct_size = sizeof err;
  ASSERT_EQ(plugin().int_linear->resident_bytes(layer.layer, &bytes, &err), INCQ_OK);
  uint64_t checkpoint = 0;
  for (const auto& t : c.tensors) checkpoint += t.packed.bytes.size();
  EXPECT_GT(bytes, 1024u * 1024u / 2);
  EXPECT_LE(static_cast<double>(bytes), 1.05 * static_cast<double>(checkpoint));
}

// ARK's scratch pool is process-global: concurrent applies from several host threads, on one layer
// and on two layers of different shapes, must give exactly the serial results.
TEST(ArkRuntime, ConcurrentApplyFromSeveralThreadsMatchesSerial) {
  REQUIRE_ARK();
  LayerCase a = incq::abi_test::make_linear_case(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 32}, 33, 256, 160, 21);
  LayerCase b = incq::abi_test::make_linear_case(IntScheme{8, false, INCQ_PACKING_GPTQ_V1, 64}, 7, 512, 96, 22);
  const std::vector<incq_kv> int8{{"compute_type", "int8"}};
  ArkLayer la(plugin().int_linear, a, int8), lb(plugin().int_linear, b, {});
  if (!la.refused.empty() || !lb.refused.empty()) GTEST_SKIP() << la.refused << lb.refused;
  ASSERT_NE(la.layer, nullptr);
  ASSERT_NE(lb.layer, nullptr);
  const std::vector<uint8_t> ya = la.apply(a, 2), yb = lb.apply(b, 2);
  EXPECT_EQ(incq::abi_test::contract_violation(a, ya, plugin().int_linear->tolerance), "");
  EXPECT_EQ(incq::abi_test::contract_violation(b, yb, kFp32Tolerance), "");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(6, 0);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        // Same thread count as the serial run: ARK's int8 blocking depends on it.
        if (t % 2 == 0) mismatches[t] += la.apply(a, 2) != ya;
        else mismatches[t] += lb.apply(b, 2) != yb;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// `incq demo` picks ARK for the layers it supports and every layer still passes verification.
TEST(ArkRuntime, DemoPicksArkForTheLayersItSupports) {
  REQUIRE_ARK();
  std::map<std::string, std::string> env;
  if (const char* py = std::getenv("INCQ_ARK_PYTHON")) env["INCQ_ARK_PYTHON"] = py;
  const auto r = incq::e2e::run_process({INCQ_TEST_INCQ_BINARY, "--no-default-plugin-dirs", "--plugin-dir",
                                         INCQ_TEST_PLUGIN_DIR, "--json", "demo", "--tokens", "1,3"},
                                        env);
  EXPECT_EQ(r.exit_code, 0) << r.out.substr(0, 4000) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["passed"].get<bool>());
  int on_ark = 0;
  for (const auto& cp : j["checkpoints"])
    for (const auto& m : cp["verify"]["modules"])
      if (m["implementation"] == kImpl) {
        ++on_ark;
        EXPECT_TRUE(m["passed"].get<bool>()) << m.dump();
      }
  EXPECT_GE(on_ark, 2) << "demo layers ARK's selection accepts (int8 lm_head, merged q/k/v) ran elsewhere";
}

}  // namespace
