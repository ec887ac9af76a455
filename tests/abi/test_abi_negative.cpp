// Negative ABI tests with hand-built tables (DESIGN §3 rules 2, 3, 12, 13): each fake plugin in
// tests/fake_plugins/abi_case_plugin.c breaks one rule. The reference host must refuse it with a
// precise reason in PluginSet::failures(), unload it, keep nothing it registered, and go on: the
// real inc_cpu, loaded first in every test, must keep working.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/loaded_layer.hpp"
#include "core/plugin_loader.hpp"
#include "support/int_layer_case.hpp"

namespace {

using incq::host::LoadedLayer;
using incq::host::PluginSet;
using ::testing::ElementsAre;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::Eq;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

const std::string kIncCpu = INCQ_TEST_PLUGIN_DIR "/libincq_inc_cpu.so";
const std::string kFakeDir = INCQ_TEST_FAKE_PLUGIN_DIR "/negative";

std::string fake(const std::string& name) { return kFakeDir + "/libincq_fake_" + name + ".so"; }

// Hand-derived from the LP64 layout of plugin_api.h (see test_abi_header.cpp for the method).
constexpr size_t kProbeOffset = 48;      // struct_size, 2 x uint32, name, version, initialize, shutdown
constexpr size_t kMinPluginTable = 56;   // ... through probe
constexpr size_t kMinImplDesc = 144;     // incq_impl_desc through destroy
static_assert(offsetof(incq_plugin_api, probe) == kProbeOffset, "layout changed: re-derive");
static_assert(offsetof(incq_impl_desc, destroy) + sizeof(void*) == kMinImplDesc, "layout changed: re-derive");

std::vector<std::string> impl_names(const PluginSet& set) {
  std::vector<std::string> out;
  for (const auto& impl : set.registry().all()) out.push_back(impl.name);
  return out;
}

std::vector<std::string> plugin_names(const PluginSet& set) {
  std::vector<std::string> out;
  for (const auto& p : set.plugins()) out.push_back(p->name());
  return out;
}

// A layer the "ones" fake runs: y[m][n] = sum_k x[m][k]. The fake ignores the weights.
incq_layer_desc ones_layer_desc() {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = "model.layers.1.mlp.up_proj";
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = 4;
  d.scheme.group_size = 32;
  d.scheme.sym = 1;
  d.scheme.packing = INCQ_PACKING_GPTQ_V2;
  d.scheme.act_bits = 16;
  d.act_dtype = INCQ_DTYPE_F32;
  d.in_features = 5;
  d.out_features = 3;
  return d;
}

class NegativeAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(set_.load_file(kIncCpu), nullptr) << (set_.failures().empty() ? "" : set_.failures()[0].reason);
  }

  // Loads one fake that must fail, and returns the reason the host gives.
  std::string load_failing(const std::string& name) {
    const std::string path = fake(name);
    EXPECT_EQ(set_.load_file(path), nullptr);
    EXPECT_EQ(set_.failures().size(), 1u);
    if (set_.failures().empty()) return "<no failure recorded>";
    EXPECT_EQ(set_.failures().back().path, path);
    return set_.failures().back().reason;
  }

  // inc_cpu is still loaded, owns its implementations, and runs a real layer against the oracle.
  void expect_inc_cpu_still_works() {
    EXPECT_THAT(plugin_names(set_), ::testing::Contains("inc_cpu"));
    const auto* impl = set_.registry().find("inc_cpu.ref.int_wo_linear");
    ASSERT_NE(impl, nullptr);
    ASSERT_NE(impl->plugin, nullptr);
    EXPECT_EQ(impl->plugin->name(), "inc_cpu");
    const incq::abi_test::LayerCase c =
        incq::abi_test::make_linear_case(incq::abi_test::IntScheme{}, 2, 64, 32, /*seed=*/3);
    const incq_layer_desc desc = c.desc();
    auto layer = LoadedLayer::load(*impl, desc, incq::abi_test::cpu_device(), c.bundle_tensors(), c.scheme.packing);
    std::vector<uint8_t> out = incq::abi_test::output_buffer(c);
    incq_tensor y = incq::abi_test::output_view(c, out);
    layer->apply_linear(c.input_view(), y, incq::abi_test::serial_exec());
    EXPECT_EQ(incq::abi_test::contract_violation(c, out, layer->tolerance()), "");
  }

  // Runs the "ones" implementation of a loaded fake; returns the layer for further questions.
  std::unique_ptr<LoadedLayer> run_ones(const std::string& impl_name) {
    const auto* impl = set_.registry().find(impl_name);
    EXPECT_NE(impl, nullptr) << impl_name;
    if (impl == nullptr) return nullptr;
    const incq_layer_desc desc = ones_layer_desc();
    auto layer = LoadedLayer::load(*impl, desc, incq::abi_test::cpu_device(), {}, INCQ_PACKING_GPTQ_V2);
    float x[2][5] = {{1, 2, 3, 4, 5}, {-1, 0.5f, 0, 0, 0}};
    float y[2][3] = {};
    const incq_tensor xt = incq::host::cpu_tensor(x, INCQ_DTYPE_F32, {2, 5});
    incq_tensor yt = incq::host::cpu_tensor(y, INCQ_DTYPE_F32, {2, 3});
    layer->apply_linear(xt, yt, incq::abi_test::serial_exec());
    EXPECT_THAT(y[0], ElementsAre(15, 15, 15));
    EXPECT_THAT(y[1], ElementsAre(-0.5f, -0.5f, -0.5f));
    return layer;
  }

  PluginSet set_;
};

TEST_F(NegativeAbi, WrongMajorVersionIsRefusedBeforeAnythingElse) {
  EXPECT_EQ(load_failing("wrong_major"), "ABI major version 2 (minor 0) is not supported: this host speaks 1.0");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, TableTooSmallToHoldTheVersionIsRefused) {
  EXPECT_EQ(load_failing("tiny_table"), "plugin table struct_size 8 is too small to hold the ABI version");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, TableEndingBeforeProbeIsRefused) {
  EXPECT_EQ(load_failing("short_table"), "plugin table struct_size " + std::to_string(kProbeOffset) +
                                             " is smaller than the " + std::to_string(kMinPluginTable) +
                                             " bytes ABI 1.0 requires");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, NullInitializeIsRefused) {
  EXPECT_EQ(load_failing("null_initialize"), "plugin 'fake_null_initialize': required entry 'initialize' is NULL");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, FailingInitializeSurfacesItsMessageAndLeavesNothingRegistered) {
  EXPECT_EQ(load_failing("failing_init"),
            "plugin 'fake_failing_init': initialize failed (status 3): fake: the frobnicator device is not connected");
  // It registered its implementation before failing: the host dropped it.
  EXPECT_THAT(impl_names(set_), AllOf(Each(StartsWith("inc_cpu.")), Contains("inc_cpu.ref.int_wo_linear")));
  EXPECT_THAT(plugin_names(set_), ElementsAre("inc_cpu"));
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, MissingEntrySymbolIsRefused) {
  EXPECT_EQ(load_failing("missing_entry"), "missing entry symbol 'incq_plugin_get_api'");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, EntryReturningNullIsRefused) {
  EXPECT_EQ(load_failing("null_entry"), "'incq_plugin_get_api' returned NULL");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, DuplicateRegistrationWithinOnePluginFailsItsInitialize) {
  EXPECT_EQ(load_failing("duplicate_impl"),
            "plugin 'fake_duplicate_impl': initialize failed (status 1): plugin 'fake_duplicate_impl': implementation "
            "'fake_duplicate_impl.ones' is already registered by plugin 'fake_duplicate_impl'");
  EXPECT_EQ(set_.registry().find("fake_duplicate_impl.ones"), nullptr) << "the first registration stayed";
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, SecondPluginRegisteringATakenImplementationNameFails) {
  EXPECT_EQ(load_failing("steals_impl_name"),
            "plugin 'fake_steals_impl_name': initialize failed (status 1): plugin 'fake_steals_impl_name': "
            "implementation 'inc_cpu.ref.int_wo_linear' is already registered by plugin 'inc_cpu'");
  EXPECT_THAT(impl_names(set_), AllOf(Each(StartsWith("inc_cpu.")), Contains("inc_cpu.ref.int_wo_linear")));
  expect_inc_cpu_still_works();  // and the name still belongs to inc_cpu
}

TEST_F(NegativeAbi, PluginNameAlreadyLoadedIsRefused) {
  EXPECT_EQ(load_failing("named_inc_cpu"), "a plugin named 'inc_cpu' is already loaded from " + kIncCpu);
  EXPECT_THAT(plugin_names(set_), ElementsAre("inc_cpu"));
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, DescriptorWithTooSmallStructSizeIsRefused) {
  EXPECT_EQ(load_failing("small_desc"),
            "plugin 'fake_small_desc': initialize failed (status 1): plugin 'fake_small_desc': implementation "
            "descriptor struct_size 16 is smaller than the " +
                std::to_string(kMinImplDesc) + " bytes ABI 1.0 requires");
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, DescriptorWithNullRequiredEntryIsRefused) {
  EXPECT_EQ(load_failing("null_create"),
            "plugin 'fake_null_create': initialize failed (status 1): plugin 'fake_null_create': implementation "
            "'fake_null_create.ones': required entry 'create' is NULL");
  expect_inc_cpu_still_works();
}

// The control case: the same fake with nothing broken reports its resident bytes (4 per weight).
TEST_F(NegativeAbi, ControlFakeLoadsRunsAndReportsResidentBytes) {
  ASSERT_NE(set_.load_file(fake("good")), nullptr);
  EXPECT_TRUE(set_.failures().empty());
  auto layer = run_ones("fake_good.ones");
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->resident_bytes(), 5 * 3 * 4);
  expect_inc_cpu_still_works();
}

TEST_F(NegativeAbi, NullOptionalEntryLoadsAndWorks) {
  ASSERT_NE(set_.load_file(fake("null_resident_bytes")), nullptr);
  EXPECT_TRUE(set_.failures().empty());
  auto layer = run_ones("fake_null_resident_bytes.ones");
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->resident_bytes(), -1);
  expect_inc_cpu_still_works();
}

// The entry is there, but beyond the descriptor's struct_size: the host must treat it as absent.
TEST_F(NegativeAbi, OptionalEntryPastTheDescriptorsStructSizeIsNotCalled) {
  ASSERT_NE(set_.load_file(fake("desc_before_resident_bytes")), nullptr);
  EXPECT_TRUE(set_.failures().empty());
  auto layer = run_ones("fake_desc_before_resident_bytes.ones");
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->resident_bytes(), -1);
  expect_inc_cpu_still_works();
}

// The fake keeps the host table and calls register_impl from its probe; it reports the host's
// answer through the probe detail.
TEST_F(NegativeAbi, RegisterImplAfterInitializeIsAnError) {
  auto plugin = set_.load_file(fake("late_register"));
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->availability(INCQ_DEVICE_CPU).detail,
            "late register_impl: status 1: register_impl called outside initialize");
  EXPECT_THAT(impl_names(set_), AllOf(Each(AnyOf(StartsWith("inc_cpu."), Eq("fake_late_register.ones"))),
                                      Contains("fake_late_register.ones"), Contains("inc_cpu.ref.int_wo_linear")));
  expect_inc_cpu_still_works();
}

// The host's register_impl fills the plugin's incq_error: it must honour the size the plugin gave
// it, like every callee of the ABI (header rules: the caller sizes out-structs).
TEST_F(NegativeAbi, RegisterImplRespectsTheCallersErrorStructSize) {
  auto plugin = set_.load_file(fake("short_register_error"));
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->availability(INCQ_DEVICE_CPU).detail,
            "first: status 0, code 0, struct_size kept, 0 bytes written past it; "
            "again: status 1, code 1, struct_size kept, 0 bytes written past it");
  expect_inc_cpu_still_works();
}

// All the fakes through load_dir, after inc_cpu: every bad one is reported, the good ones load.
TEST_F(NegativeAbi, LoadingTheWholeFakeDirectoryReportsEachBadPluginAndKeepsTheRest) {
  set_.load_dir(kFakeDir);
  std::set<std::string> failed;
  for (const auto& f : set_.failures()) failed.insert(f.path);
  EXPECT_EQ(failed, (std::set<std::string>{fake("duplicate_impl"), fake("failing_init"), fake("missing_entry"),
                                           fake("named_inc_cpu"), fake("null_create"), fake("null_entry"),
                                           fake("null_initialize"), fake("short_table"), fake("small_desc"),
                                           fake("steals_impl_name"), fake("tiny_table"), fake("wrong_major")}));
  EXPECT_EQ(set_.failures().size(), failed.size());
  EXPECT_THAT(plugin_names(set_), UnorderedElementsAre("inc_cpu", "fake_desc_before_resident_bytes", "fake_good",
                                                       "fake_late_register", "fake_null_resident_bytes",
                                                       "fake_short_register_error"));
  expect_inc_cpu_still_works();
  run_ones("fake_good.ones");
}

}  // namespace
