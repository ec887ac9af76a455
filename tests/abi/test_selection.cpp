// Selection and fallback (DESIGN §2 step 3): which implementation runs a layer, and why the others
// did not. Two halves:
//  - real dlopen'ed fake plugins (tests/fake_plugins/configurable_plugin.cpp built as fake_alpha,
//    fake_beta, fake_gamma) whose availability, priority and can_implement answer are set through
//    plugin options;
//  - an in-process Registry whose can_implement is a GoogleMock object, to check what the selector
//    asks and when.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "core/loaded_layer.hpp"
#include "core/plugin_loader.hpp"
#include "core/selection.hpp"
#include "support/int_layer_case.hpp"

namespace {

using incq::host::BackendChoice;
using incq::host::Error;
using incq::host::OptionMap;
using incq::host::PluginSet;
using incq::host::Selection;
using incq::host::SelectionPolicy;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

const char* const kLayer = "model.layers.0.mlp.down_proj";

std::string fake(const std::string& name) {
  return INCQ_TEST_FAKE_PLUGIN_DIR "/selection/libincq_fake_" + name + ".so";
}

// A 4-bit GPTQ v2 Linear with F32 activations: what every configurable fake claims.
incq_layer_desc layer_desc(const char* name = kLayer) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = name;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = 4;
  d.scheme.group_size = 32;
  d.scheme.sym = 1;
  d.scheme.packing = INCQ_PACKING_GPTQ_V2;
  d.scheme.act_bits = 16;
  d.act_dtype = INCQ_DTYPE_F32;
  d.in_features = 64;
  d.out_features = 32;
  return d;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// ------------------------------------------------------------------ with dlopen'ed fake plugins

class SelectionWithFakes : public ::testing::Test {
 protected:
  // Loads the named fakes, in this order, each with its plugin options.
  void load(const std::vector<std::pair<std::string, OptionMap>>& fakes) {
    std::map<std::string, OptionMap> options;
    for (const auto& [name, opts] : fakes) options["fake_" + name] = opts;
    set_.set_plugin_options(options);
    for (const auto& [name, opts] : fakes) {
      ASSERT_NE(set_.load_file(fake(name)), nullptr) << (set_.failures().empty() ? "" : set_.failures().back().reason);
    }
  }

  Selection select(const SelectionPolicy& policy, const char* layer = kLayer) {
    const incq_layer_desc desc = layer_desc(layer);
    return incq::host::select_implementation(set_.registry(), desc, incq::abi_test::cpu_device(), policy);
  }

  const incq::host::Candidate& candidate(const Selection& s, const std::string& impl) {
    for (const auto& c : s.candidates)
      if (c.impl->name == impl) return c;
    ADD_FAILURE() << "no candidate " << impl;
    static const incq::host::Candidate none;
    return none;
  }

  PluginSet set_;
};

TEST_F(SelectionWithFakes, UnusablePluginFallsBackToTheNextAndKeepsTheExactReason) {
  load({{"alpha", {{"available", "0"}, {"detail", "alpha: no frobnicator on this host"}, {"priority", "10"}}},
        {"beta", {{"priority", "1"}}}});
  const Selection s = select({});
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "highest priority (1)");
  ASSERT_EQ(s.candidates.size(), 2u);
  const auto& alpha = candidate(s, "fake_alpha.linear");
  EXPECT_FALSE(alpha.accepted);
  EXPECT_EQ(alpha.reason, "plugin 'fake_alpha' is not usable on cpu: alpha: no frobnicator on this host");
  EXPECT_TRUE(candidate(s, "fake_beta.linear").accepted);
}

TEST_F(SelectionWithFakes, CanImplementRefusalFallsBackAndKeepsThePluginsReason) {
  load({{"alpha", {{"accept", "no"}, {"reason", "alpha: K = 64 is below my tile"}, {"priority", "10"}}},
        {"beta", {}}});
  const Selection s = select({});
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(candidate(s, "fake_alpha.linear").reason, "alpha: K = 64 is below my tile");
}

TEST_F(SelectionWithFakes, HighestPriorityWinsAndItIsTheOneThatRuns) {
  load({{"alpha", {{"priority", "1"}}}, {"beta", {{"priority", "5"}}}, {"gamma", {{"priority", "3"}}}});
  const Selection s = select({});
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "highest priority (5)");
  // The fake writes its priority into every output: the chosen plugin is the one that computes.
  const incq_layer_desc desc = layer_desc();
  auto layer = incq::host::LoadedLayer::load(*s.chosen, desc, incq::abi_test::cpu_device(), {}, INCQ_PACKING_GPTQ_V2);
  std::vector<float> x(64, 1.0f), y(32, 0.0f);
  incq_tensor yt = incq::host::cpu_tensor(y.data(), INCQ_DTYPE_F32, {1, 32});
  layer->apply_linear(incq::host::cpu_tensor(x.data(), INCQ_DTYPE_F32, {1, 64}), yt, incq::abi_test::serial_exec());
  EXPECT_THAT(y, ::testing::Each(5.0f));
}

TEST_F(SelectionWithFakes, RegistrationOrderBreaksAPriorityTie) {
  load({{"gamma", {{"priority", "2"}}}, {"alpha", {{"priority", "2"}}}, {"beta", {{"priority", "1"}}}});
  EXPECT_EQ(select({}).chosen->name, "fake_gamma.linear");
}

TEST_F(SelectionWithFakes, RegistrationOrderBreaksAPriorityTieTheOtherWayRound) {
  load({{"alpha", {{"priority", "2"}}}, {"gamma", {{"priority", "2"}}}, {"beta", {{"priority", "1"}}}});
  EXPECT_EQ(select({}).chosen->name, "fake_alpha.linear");
}

TEST_F(SelectionWithFakes, NothingUsableIsAnErrorListingEveryReason) {
  load({{"alpha", {{"available", "0"}, {"detail", "alpha: driver missing"}}},
        {"beta", {{"accept", "no"}, {"reason", "beta: group size 32 unsupported"}}}});
  EXPECT_EQ(error_of([&] { select({}); }),
            "layer 'model.layers.0.mlp.down_proj': no implementation can run it:\n"
            "  - fake_alpha.linear (fake_alpha): plugin 'fake_alpha' is not usable on cpu: alpha: driver missing\n"
            "  - fake_beta.linear (fake_beta): beta: group size 32 unsupported");
}

TEST_F(SelectionWithFakes, BackendForcesAPluginByName) {
  load({{"alpha", {}}, {"beta", {{"priority", "9"}}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"fake_alpha", "--backend"};
  const Selection s = select(p);
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "fake_alpha.linear");
  EXPECT_EQ(s.how, "forced by --backend");
}

TEST_F(SelectionWithFakes, BackendForcesAnImplementationByName) {
  load({{"alpha", {{"impl", "alpha.custom_kernel"}}}, {"beta", {{"priority", "9"}}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"alpha.custom_kernel", "--backend"};
  const Selection s = select(p);
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "alpha.custom_kernel");
  EXPECT_EQ(s.how, "forced by --backend");
}

TEST_F(SelectionWithFakes, ForcedBackendThatCannotRunIsAnErrorNotAFallback) {
  load({{"alpha", {{"accept", "no"}, {"reason", "alpha: refuses N = 32"}}}, {"beta", {}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"fake_alpha", "--backend"};
  EXPECT_EQ(error_of([&] { select(p); }),
            "layer 'model.layers.0.mlp.down_proj': backend 'fake_alpha' (from --backend) cannot run this layer:\n"
            "  - fake_alpha.linear (fake_alpha): alpha: refuses N = 32");
}

TEST_F(SelectionWithFakes, ForcedImplementationOfAnUnusablePluginNamesTheReason) {
  load({{"alpha", {{"available", "0"}, {"detail", "alpha: no device"}}}, {"beta", {}}});
  SelectionPolicy p;
  p.env_backend = BackendChoice{"fake_alpha.linear", "INCQ_BACKEND"};
  EXPECT_EQ(error_of([&] { select(p); }),
            "layer 'model.layers.0.mlp.down_proj': backend 'fake_alpha.linear' (from INCQ_BACKEND) cannot run this "
            "layer:\n  - fake_alpha.linear (fake_alpha): plugin 'fake_alpha' is not usable on cpu: alpha: no device");
}

TEST_F(SelectionWithFakes, ForcingAnUnknownNameIsAnError) {
  load({{"alpha", {}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"fake_delta", "--backend"};
  EXPECT_EQ(error_of([&] { select(p); }),
            "layer 'model.layers.0.mlp.down_proj': backend 'fake_delta' (from --backend) names no loaded plugin or "
            "implementation");
}

TEST_F(SelectionWithFakes, AutoIsNotAForcedChoice) {
  load({{"alpha", {}}, {"beta", {{"priority", "4"}}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"auto", "--backend"};
  const Selection s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "highest priority (4)");
}

// Each level set at once; removing the winner each time shows the next one down.
TEST_F(SelectionWithFakes, CommandLineOverEnvironmentOverHostConfigOverCheckpointOverPriority) {
  load({{"alpha", {}}, {"beta", {}}, {"gamma", {{"priority", "5"}}}});
  SelectionPolicy p;
  p.cli_backend = BackendChoice{"fake_alpha", "--backend"};
  p.env_backend = BackendChoice{"fake_beta", "INCQ_BACKEND"};
  p.config_backend = BackendChoice{"fake_alpha", "host config h.json key 'backend'"};
  p.checkpoint_backend = BackendChoice{"fake_beta", "checkpoint quantization_config.backend"};

  Selection s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_alpha.linear");
  EXPECT_EQ(s.how, "forced by --backend");
  p.cli_backend.reset();
  s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "forced by INCQ_BACKEND");
  p.env_backend.reset();
  s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_alpha.linear");
  EXPECT_EQ(s.how, "forced by host config h.json key 'backend'");
  p.config_backend.reset();
  s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "preferred by checkpoint quantization_config.backend");
  p.checkpoint_backend.reset();
  s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_gamma.linear");
  EXPECT_EQ(s.how, "highest priority (5)");
}

TEST_F(SelectionWithFakes, HostConfigLayerRuleAppliesToMatchingLayersOnly) {
  load({{"alpha", {}}, {"beta", {}}, {"gamma", {{"priority", "5"}}}});
  SelectionPolicy p;
  p.config_layer_backends.push_back(
      {"mlp\\.down_proj$", BackendChoice{"fake_alpha", "host config h.json layer_backends 'mlp\\.down_proj$'"}});
  p.config_backend = BackendChoice{"fake_beta", "host config h.json key 'backend'"};

  Selection s = select(p, "model.layers.0.mlp.down_proj");
  EXPECT_EQ(s.chosen->name, "fake_alpha.linear");
  EXPECT_EQ(s.how, "forced by host config h.json layer_backends 'mlp\\.down_proj$'");
  s = select(p, "model.layers.0.mlp.down_proj_extra");  // the rule is anchored at its end only
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  s = select(p, "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "forced by host config h.json key 'backend'");

  // The environment outranks every host-config rule.
  p.env_backend = BackendChoice{"fake_gamma", "INCQ_BACKEND"};
  EXPECT_EQ(select(p, "model.layers.0.mlp.down_proj").chosen->name, "fake_gamma.linear");
}

TEST_F(SelectionWithFakes, CheckpointPreferenceThatCannotRunFallsBackWithANote) {
  load({{"alpha", {{"accept", "no"}, {"reason", "alpha: no"}, {"priority", "7"}}}, {"beta", {{"priority", "2"}}}});
  SelectionPolicy p;
  p.checkpoint_backend = BackendChoice{"fake_alpha", "checkpoint quantization_config.backend"};
  const Selection s = select(p);
  ASSERT_NE(s.chosen, nullptr);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "highest priority (2); checkpoint quantization_config.backend 'fake_alpha' is not usable here");
}

TEST_F(SelectionWithFakes, CheckpointPreferenceNamingNothingLoadedIsOnlyANote) {
  load({{"beta", {}}});
  SelectionPolicy p;
  p.checkpoint_backend = BackendChoice{"ark", "checkpoint quantization_config.backend"};
  const Selection s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(s.how, "highest priority (0); checkpoint quantization_config.backend 'ark' is not usable here");
}

TEST_F(SelectionWithFakes, DisabledImplementationIsRejectedWithItsSource) {
  load({{"alpha", {{"priority", "10"}}}, {"beta", {}}});
  SelectionPolicy p;
  p.disabled.push_back(BackendChoice{"fake_alpha", "INCQ_DISABLE"});
  const Selection s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(candidate(s, "fake_alpha.linear").reason, "disabled by INCQ_DISABLE");

  // Forcing what is disabled is an error that says so.
  p.cli_backend = BackendChoice{"fake_alpha", "--backend"};
  EXPECT_EQ(error_of([&] { select(p); }),
            "layer 'model.layers.0.mlp.down_proj': backend 'fake_alpha' (from --backend) cannot run this layer:\n"
            "  - fake_alpha.linear (fake_alpha): disabled by INCQ_DISABLE");
}

TEST_F(SelectionWithFakes, DisablingAnImplementationNameLeavesItsPluginsOthersAlone) {
  load({{"alpha", {{"impl", "alpha.fast"}, {"priority", "10"}}}, {"beta", {}}});
  SelectionPolicy p;
  p.disabled.push_back(BackendChoice{"alpha.fast", "--disable"});
  const Selection s = select(p);
  EXPECT_EQ(s.chosen->name, "fake_beta.linear");
  EXPECT_EQ(candidate(s, "alpha.fast").reason, "disabled by --disable");
}

// A plugin disabled at load time is found but never initialized: skipped, not failed.
TEST(SelectionDisabledPlugin, IsSkippedAtLoadWithTheReason) {
  PluginSet set;
  set.set_disabled({"fake_alpha"}, "INCQ_DISABLE");
  EXPECT_EQ(set.load_file(fake("alpha")), nullptr);
  EXPECT_TRUE(set.failures().empty());
  ASSERT_EQ(set.skipped().size(), 1u);
  EXPECT_EQ(set.skipped()[0].path, fake("alpha"));
  EXPECT_EQ(set.skipped()[0].name, "fake_alpha");
  EXPECT_EQ(set.skipped()[0].reason, "disabled by INCQ_DISABLE");
  EXPECT_TRUE(set.registry().all().empty());
  ASSERT_NE(set.load_file(fake("beta")), nullptr);
  EXPECT_EQ(set.registry().all().size(), 1u);
}

// ------------------------------------------------------------------ in process, with a mock

// What the selector asks an implementation, as a mockable C++ object behind the C entry.
class MockImplementation {
 public:
  MOCK_METHOD(incq_status, can_implement, (const std::string& layer, incq_error* reason));
};

incq_status mock_can_implement(void* ctx, const incq_layer_desc* desc, const incq_device*, incq_error* reason) {
  return static_cast<MockImplementation*>(ctx)->can_implement(desc->name, reason);
}
incq_status unused_create(void*, const incq_layer_desc*, const incq_device*, const incq_kv*, size_t, incq_layer**,
                          incq_error*) {
  return INCQ_ERR_INTERNAL;
}
incq_status unused_set_weights(incq_layer*, const incq_weight_bundle*, incq_error*) { return INCQ_ERR_INTERNAL; }
incq_status unused_process(incq_layer*, incq_error*) { return INCQ_ERR_INTERNAL; }
incq_status unused_apply(incq_layer*, const incq_tensor*, incq_tensor*, const incq_exec*, incq_error*) {
  return INCQ_ERR_INTERNAL;
}
void unused_destroy(incq_layer*) {}

incq_impl_desc mock_desc(const char* name, MockImplementation* mock, int32_t priority) {
  incq_impl_desc d{};
  d.struct_size = sizeof d;
  d.name = name;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.sym_mask = 0x2u;  // symmetric only
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = priority;
  d.impl_ctx = mock;
  d.can_implement = mock_can_implement;
  d.create = unused_create;
  d.set_weights = unused_set_weights;
  d.process_weights = unused_process;
  d.apply_linear = unused_apply;
  d.destroy = unused_destroy;
  return d;
}

incq_status probe_usable(int32_t, incq_availability* out) {
  out->available = 1;
  std::snprintf(out->detail, sizeof out->detail, "in-process, usable");
  return INCQ_OK;
}
incq_status probe_unusable(int32_t, incq_availability* out) {
  out->available = 0;
  std::snprintf(out->detail, sizeof out->detail, "in-process, switched off");
  return INCQ_OK;
}
incq_status unused_initialize(const incq_host_api*, const incq_kv*, size_t, incq_error*) { return INCQ_OK; }
void unused_shutdown() {}

const incq_plugin_api kUsable = {sizeof(incq_plugin_api), 1, 0, "mock_usable", "0", unused_initialize,
                                 unused_shutdown, probe_usable};
const incq_plugin_api kUnusable = {sizeof(incq_plugin_api), 1, 0, "mock_unusable", "0", unused_initialize,
                                   unused_shutdown, probe_unusable};

// A registry filled in process: first, second (usable plugin) and off (unusable plugin).
class SelectionWithMocks : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.add(&first_desc_, "mock_usable");
    registry_.add(&second_desc_, "mock_usable");
    registry_.add(&off_desc_, "mock_unusable");
    registry_.bind_plugin("mock_usable", std::make_shared<incq::host::Plugin>("<in-process>", nullptr, &kUsable));
    registry_.bind_plugin("mock_unusable",
                          std::make_shared<incq::host::Plugin>("<in-process>", nullptr, &kUnusable));
  }

  Selection select(const incq_layer_desc& desc, const SelectionPolicy& policy = {}) {
    return incq::host::select_implementation(registry_, desc, incq::abi_test::cpu_device(), policy);
  }

  ::testing::StrictMock<MockImplementation> first_, second_, off_;
  incq_impl_desc first_desc_ = mock_desc("mock.first", &first_, 3);
  incq_impl_desc second_desc_ = mock_desc("mock.second", &second_, 1);
  incq_impl_desc off_desc_ = mock_desc("mock.off", &off_, 9);
  incq::host::Registry registry_;
};

TEST_F(SelectionWithMocks, CanImplementIsAskedOnceForEachCandidateThatPassedTheCheapChecks) {
  EXPECT_CALL(first_, can_implement(kLayer, _)).WillOnce(Return(INCQ_OK));
  EXPECT_CALL(second_, can_implement(kLayer, _)).WillOnce(Return(INCQ_OK));
  // off_ is a StrictMock: its plugin is unusable, so any call to it fails the test.
  const Selection s = select(layer_desc());
  EXPECT_EQ(s.chosen->name, "mock.first");
  ASSERT_EQ(s.candidates.size(), 3u);
  EXPECT_EQ(s.candidates[2].reason, "plugin 'mock_unusable' is not usable on cpu: in-process, switched off");
}

TEST_F(SelectionWithMocks, DisabledAndMismatchedCandidatesAreNeverAsked) {
  SelectionPolicy p;
  p.disabled.push_back(BackendChoice{"mock.first", "--disable"});
  incq_layer_desc asym = layer_desc();
  asym.scheme.sym = 0;  // every mock serves symmetric weights only
  EXPECT_EQ(error_of([&] { select(asym, p); }),
            "layer 'model.layers.0.mlp.down_proj': no implementation can run it:\n"
            "  - mock.first (mock_usable): disabled by --disable\n"
            "  - mock.second (mock_usable): does not support asymmetric weights\n"
            "  - mock.off (mock_unusable): plugin 'mock_unusable' is not usable on cpu: in-process, switched off");
}

TEST_F(SelectionWithMocks, TheImplementationsReasonIsKeptVerbatimAndAnEmptyOneIsExplained) {
  EXPECT_CALL(first_, can_implement(kLayer, _)).WillOnce([](const std::string&, incq_error* reason) {
    std::snprintf(reason->message, sizeof reason->message, "first: needs AVX-512 VNNI");
    return INCQ_ERR_UNSUPPORTED;
  });
  EXPECT_CALL(second_, can_implement(kLayer, _)).WillOnce(Return(INCQ_ERR_UNSUPPORTED));
  EXPECT_EQ(error_of([&] { select(layer_desc()); }),
            "layer 'model.layers.0.mlp.down_proj': no implementation can run it:\n"
            "  - mock.first (mock_usable): first: needs AVX-512 VNNI\n"
            "  - mock.second (mock_usable): can_implement said no (status 2)\n"
            "  - mock.off (mock_unusable): plugin 'mock_unusable' is not usable on cpu: in-process, switched off");
}

TEST_F(SelectionWithMocks, ARefusalFromTheHigherPriorityFallsToTheLower) {
  EXPECT_CALL(first_, can_implement(kLayer, _)).WillOnce(Return(INCQ_ERR_UNSUPPORTED));
  EXPECT_CALL(second_, can_implement(kLayer, _)).WillOnce(Return(INCQ_OK));
  const Selection s = select(layer_desc());
  EXPECT_EQ(s.chosen->name, "mock.second");
  EXPECT_EQ(s.how, "highest priority (1)");
}

// The descriptor's declarative fields are checked before the predicate, each with its own words.
TEST_F(SelectionWithMocks, DescriptorMismatchReasons) {
  const incq::host::Implementation& impl = registry_.all()[0];
  const incq_device cpu = incq::abi_test::cpu_device();
  auto mismatch = [&](auto change) {
    incq_layer_desc d = layer_desc();
    incq_device dev = cpu;
    change(d, dev);
    return incq::host::descriptor_mismatch(impl, d, dev);
  };
  EXPECT_EQ(mismatch([](incq_layer_desc&, incq_device&) {}), "");
  EXPECT_EQ(mismatch([](incq_layer_desc& d, incq_device&) { d.module_kind = INCQ_MODULE_MOE; }),
            "serves linear modules, not moe");
  EXPECT_EQ(mismatch([](incq_layer_desc&, incq_device& dev) { dev.type = INCQ_DEVICE_OPENCL; }),
            "does not run on device type opencl");
  EXPECT_EQ(mismatch([](incq_layer_desc& d, incq_device&) { d.scheme.family = INCQ_FAMILY_FP8; }),
            "serves scheme family int, not fp8");
  EXPECT_EQ(mismatch([](incq_layer_desc& d, incq_device&) { d.scheme.bits = 8; }), "does not support 8 bits");
  EXPECT_EQ(mismatch([](incq_layer_desc& d, incq_device&) { d.scheme.packing = INCQ_PACKING_AWQ; }),
            "does not read packing awq");
  EXPECT_EQ(mismatch([](incq_layer_desc& d, incq_device&) { d.act_dtype = INCQ_DTYPE_BF16; }),
            "does not accept BF16 activations");
}

}  // namespace
