// The ABI conformance suite (DESIGN §3 rule 13): every plugin built into INCQ_TEST_PLUGIN_DIR
// (libincq_*.so) must pass it. Each plugin file is its own test case. The plugin is dlopen'ed
// directly and initialized against a minimal fake host (support/fake_host.hpp), so these tests
// judge the plugin alone, not the reference host's loader.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "core/host.hpp"
#include "core/synth.hpp"
#include "core/verify.hpp"
#include "incq/plugin_helpers.hpp"
#include "quant/packing_layout.hpp"
#include "support/elf_exports.hpp"
#include "support/fake_host.hpp"
#include "support/int_layer_case.hpp"

namespace {

using incq::abi_test::cpu_device;
using incq::abi_test::FakeHost;
using incq::abi_test::IntScheme;
using incq::abi_test::LayerCase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> plugin_files() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(INCQ_TEST_PLUGIN_DIR, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("libincq_", 0) == 0 && e.path().extension() == ".so") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A suite over no plugin at all would pass vacuously.
TEST(AbiConformanceSetup, PluginDirectoryHoldsPlugins) {
  EXPECT_FALSE(plugin_files().empty()) << "no libincq_*.so in " << INCQ_TEST_PLUGIN_DIR;
}

std::string message_of(const incq_error& e) { return std::string(e.message, strnlen(e.message, sizeof e.message)); }

incq_error fresh_error() {
  incq_error e{};
  e.struct_size = sizeof e;
  e.code = -1;
  return e;
}

constexpr size_t kMinPluginApiSize = offsetof(incq_plugin_api, probe) + sizeof(void*);
constexpr size_t kMinImplDescSize = offsetof(incq_impl_desc, destroy) + sizeof(void*);

// resident_bytes is OPTIONAL: absent when NULL or past the descriptor's struct_size.
bool has_resident_bytes(const incq_impl_desc* d) {
  return INCQ_HAS_FIELD(d, incq_impl_desc, resident_bytes) && d->resident_bytes != nullptr;
}


// One plugin file, opened for one test and closed (shutdown, then dlclose) after it.
class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    handle_ = dlopen(GetParam().c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto entry = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(handle_, INCQ_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr) << "no " << INCQ_PLUGIN_ENTRY_SYMBOL;
    api_ = entry();
    ASSERT_NE(api_, nullptr);
    ASSERT_GE(api_->struct_size, kMinPluginApiSize);
    ASSERT_EQ(api_->abi_major, static_cast<uint32_t>(INCQ_ABI_VERSION_MAJOR));
  }

  void TearDown() override {
    if (initialized_) api_->shutdown();
    if (handle_ != nullptr) {
      EXPECT_EQ(dlclose(handle_), 0) << dlerror();
    }
  }

  // Initializes with no options and returns the registered descriptors.
  const std::vector<const incq_impl_desc*>& initialize() {
    incq_error err = fresh_error();
    const incq_status st = api_->initialize(host_.table(), nullptr, 0, &err);
    host_.close();
    EXPECT_EQ(st, INCQ_OK) << message_of(err);
    initialized_ = st == INCQ_OK;
    return host_.registered();
  }

  std::string plugin_name() const { return api_->name ? api_->name : "?"; }

  void* handle_ = nullptr;
  const incq_plugin_api* api_ = nullptr;
  FakeHost host_;
  bool initialized_ = false;
};

TEST_P(Conformance, ExportsOnlyTheEntrySymbol) {
  EXPECT_THAT(incq::abi_test::exported_dynamic_symbols(GetParam()), ElementsAre(INCQ_PLUGIN_ENTRY_SYMBOL));
}

TEST_P(Conformance, TableHeaderIsComplete) {
  EXPECT_GE(api_->struct_size, kMinPluginApiSize);
  EXPECT_EQ(api_->abi_major, static_cast<uint32_t>(INCQ_ABI_VERSION_MAJOR));
  ASSERT_NE(api_->name, nullptr);
  EXPECT_GT(std::strlen(api_->name), 0u);
  ASSERT_NE(api_->version, nullptr);
  EXPECT_GT(std::strlen(api_->version), 0u);
  EXPECT_NE(api_->initialize, nullptr);
  EXPECT_NE(api_->shutdown, nullptr);
  EXPECT_NE(api_->probe, nullptr);
}

TEST_P(Conformance, InitializeRegistersWellFormedDescriptors) {
  const auto& impls = initialize();
  ASSERT_FALSE(impls.empty()) << plugin_name() << " registered no implementation";
  std::set<std::string> names;
  for (const incq_impl_desc* d : impls) {
    ASSERT_NE(d, nullptr);
    ASSERT_GE(d->struct_size, kMinImplDescSize);
    ASSERT_NE(d->name, nullptr);
    const std::string name = d->name;
    SCOPED_TRACE(name);
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << "registered twice";
    EXPECT_TRUE(d->module_kind == INCQ_MODULE_LINEAR || d->module_kind == INCQ_MODULE_MOE) << d->module_kind;
    EXPECT_GE(d->family, INCQ_FAMILY_INT);  // DENSE layers are never handed to a plugin
    EXPECT_LE(d->family, INCQ_FAMILY_MX_INT);
    EXPECT_NE(d->can_implement, nullptr);
    EXPECT_NE(d->create, nullptr);
    EXPECT_NE(d->set_weights, nullptr);
    EXPECT_NE(d->process_weights, nullptr);
    EXPECT_NE(d->destroy, nullptr);
    if (d->module_kind == INCQ_MODULE_LINEAR) {
      EXPECT_NE(d->apply_linear, nullptr);
    }
    if (d->module_kind == INCQ_MODULE_MOE) {
      EXPECT_NE(d->apply_moe, nullptr);
    }
    EXPECT_NE(d->bits_mask, 0u);
    EXPECT_NE(d->sym_mask, 0u);
    EXPECT_EQ(d->sym_mask & ~0x3u, 0u) << "only bits 0 (asym) and 1 (sym) mean something";
    EXPECT_NE(d->packing_mask, 0u);
    EXPECT_NE(d->act_dtype_mask, 0u);
    EXPECT_NE(d->device_mask, 0u);
    if (d->num_group_sizes > 0) {
      EXPECT_NE(d->group_sizes, nullptr);
    }
    EXPECT_TRUE(std::isfinite(d->tolerance)) << d->tolerance;
    EXPECT_GE(d->tolerance, 0.0);
  }
}

TEST_P(Conformance, UnknownPluginOptionIsRejectedByName) {
  const incq_kv option{"incq_conformance_no_such_option", "1"};
  incq_error err = fresh_error();
  const incq_status st = api_->initialize(host_.table(), &option, 1, &err);
  initialized_ = st == INCQ_OK;  // if it wrongly succeeds, it still gets its shutdown
  EXPECT_NE(st, INCQ_OK);
  EXPECT_EQ(err.code, st);
  EXPECT_THAT(message_of(err), HasSubstr("incq_conformance_no_such_option"));
}

TEST_P(Conformance, InitializeWithoutAHostTableFailsCleanly) {
  incq_error err = fresh_error();
  EXPECT_NE(api_->initialize(nullptr, nullptr, 0, &err), INCQ_OK);
  EXPECT_FALSE(message_of(err).empty());
}

// A host table whose struct_size ends before register_impl has no register_impl: the plugin must
// not call it (the pointer is physically there, so a plugin that ignores struct_size would).
TEST_P(Conformance, HostTableTooSmallForRegisterImplIsNotCalled) {
  host_.mutable_table()->struct_size = offsetof(incq_host_api, register_impl);
  incq_error err = fresh_error();
  const incq_status st = api_->initialize(host_.table(), nullptr, 0, &err);
  initialized_ = st == INCQ_OK;
  EXPECT_EQ(host_.register_calls(), 0);
  if (st != INCQ_OK) {
    EXPECT_FALSE(message_of(err).empty());
  }
}

TEST_P(Conformance, ProbeAnswersEveryDeviceTypeStably) {
  initialize();
  ASSERT_TRUE(initialized_);
  for (int32_t type : {INCQ_DEVICE_CPU, INCQ_DEVICE_OPENCL}) {
    SCOPED_TRACE(type);
    incq_availability first{}, second{};
    first.struct_size = second.struct_size = sizeof(incq_availability);
    first.available = second.available = -7;
    ASSERT_EQ(api_->probe(type, &first), INCQ_OK);
    ASSERT_EQ(api_->probe(type, &second), INCQ_OK);
    EXPECT_TRUE(first.available == 0 || first.available == 1) << first.available;
    const size_t len = strnlen(first.detail, sizeof first.detail);
    EXPECT_LT(len, sizeof first.detail) << "detail is not NUL-terminated";
    EXPECT_GT(len, 0u) << "an availability answer always says why";
    EXPECT_EQ(first.available, second.available);
    EXPECT_STREQ(first.detail, second.detail);
    EXPECT_EQ(first.struct_size, sizeof(incq_availability));
  }
}

// The caller sizes the out-struct: nothing at or past struct_size may be written.
TEST_P(Conformance, ProbeWritesNothingPastAShortStructSize) {
  initialize();
  ASSERT_TRUE(initialized_);
  constexpr unsigned char kCanary = 0xA5;
  const size_t sizes[] = {sizeof(size_t), offsetof(incq_availability, available) + sizeof(int32_t),
                          offsetof(incq_availability, detail) + 5};
  for (size_t size : sizes) {
    SCOPED_TRACE(size);
    std::vector<unsigned char> buffer(sizeof(incq_availability) + 64, kCanary);
    auto* out = reinterpret_cast<incq_availability*>(buffer.data());
    out->struct_size = size;
    (void)api_->probe(INCQ_DEVICE_CPU, out);  // either answer is fine: what fits, or an error
    EXPECT_EQ(out->struct_size, size);
    size_t overwritten = 0;
    for (size_t i = size; i < buffer.size(); ++i) overwritten += buffer[i] != kCanary;
    EXPECT_EQ(overwritten, 0u) << "bytes written past struct_size " << size;
  }
}

// ------------------------------------------------------------------ layer cases per descriptor

// The schemes a descriptor claims that the integer packings can store, with the group size it
// lists first (or 32 when it takes any), each with the preferred activation dtype.
std::vector<IntScheme> claimed_int_schemes(const incq_impl_desc& d, int64_t K, int64_t N) {
  std::vector<IntScheme> out;
  if (d.family != INCQ_FAMILY_INT) return out;
  int group = 32;
  for (size_t i = 0; i < d.num_group_sizes; ++i)
    if (d.group_sizes[i] != 0) {
      group = d.group_sizes[i];
      break;
    }
  int32_t act = INCQ_DTYPE_F32;
  for (int32_t a : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
    if (d.act_dtype_mask & INCQ_BIT(a)) {
      act = a;
      break;
    }
  for (int bits : {2, 3, 4, 8}) {
    if (!(d.bits_mask & INCQ_BIT(bits))) continue;
    for (bool sym : {true, false}) {
      if (!(d.sym_mask & (sym ? 2u : 1u))) continue;
      for (int32_t p : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2, INCQ_PACKING_AWQ}) {
        if (!(d.packing_mask & INCQ_BIT(p))) continue;
        // AWQ exists at 4 bits only: that is the format's limit, not the plugin's.
        if (!incq::host::quant::packing_limits_violation(K, N, bits, group, static_cast<incq_packing>(p)).empty())
          continue;
        out.push_back(IntScheme{bits, sym, static_cast<incq_packing>(p), group, act});
      }
    }
  }
  return out;
}

constexpr int64_t kM = 3, kK = 128, kN = 64;                      // Linear
constexpr int64_t kT = 4, kHidden = 64, kInter = 64, kExperts = 3;  // MoE
constexpr int kTopK = 2;

// `scale` multiplies the layer's dimensions: 1 is the small case every implementation should take;
// 8 is a realistic one for implementations with a fixed per-layer overhead (ARK's packed blob makes a
// 128x64 layer 1.5x the checkpoint, over the 1.05x resident limit, so ARK refuses it by name).
LayerCase make_case(const incq_impl_desc& d, const IntScheme& s, uint32_t seed, int64_t scale = 1) {
  if (d.module_kind == INCQ_MODULE_MOE)
    return incq::abi_test::make_moe_case(s, kT, kHidden * scale, kInter * scale, kExperts, kTopK, seed);
  return incq::abi_test::make_linear_case(s, kM, kK * scale, kN * scale, seed);
}

std::string can_implement_reason(const incq_impl_desc& d, const incq_layer_desc& desc) {
  const incq_device dev = cpu_device();
  incq_error reason = fresh_error();
  const incq_status st = d.can_implement(d.impl_ctx, &desc, &dev, &reason);
  return st == INCQ_OK ? "" : "status " + std::to_string(st) + ": " + message_of(reason);
}

// The case for scheme s as the implementation wants it. W4A8 (act_bits 8: dynamic per-token
// symmetric int8) when can_implement accepts it: such an implementation may also take act_bits 16,
// but only lossily (it still quantizes x), so it is judged against the oracle that quantizes
// activations exactly as it must. Otherwise weight-only (act_bits 16), which a weight-only
// implementation claiming the scheme must accept. Returns "" and sets c, or both refusals.
// A scheme refused at the small size must be accepted at the realistic one (scale 8), with the
// group size first listed or, for an implementation taking any group, at AutoRound's default 128
// when 32 is refused (a per-group overhead can put an asym g32 layout over the resident limit).
std::string accepted_case(const incq_impl_desc& d, IntScheme s, uint32_t seed, LayerCase& c) {
  std::string reasons;
  const bool any_group = d.num_group_sizes == 0 || d.group_sizes == nullptr;
  std::vector<std::pair<int64_t, int>> tries{{1, s.group_size}, {8, s.group_size}};
  if (any_group && s.group_size != 128) tries.push_back({8, 128});
  for (const auto& [scale, group] : tries) {
    s.group_size = group;
    for (int act_bits : {8, 16}) {
      s.act_bits = act_bits;
      c = make_case(d, s, seed, scale);
      const std::string why = can_implement_reason(d, c.desc());
      if (why.empty()) return "";
      reasons += " [scale " + std::to_string(scale) + ", group " + std::to_string(group) + ", act_bits " +
                 std::to_string(act_bits) + ": " + why + "]";
    }
  }
  return "can_implement refused a scheme its descriptor claims:" + reasons;
}

struct Lifecycle {
  std::string error;  // the first failing step and its message; "" when all passed
  std::vector<uint8_t> output;
};

// create -> set_weights -> process_weights -> apply -> resident_bytes -> destroy.
Lifecycle run_lifecycle(const incq_impl_desc& d, const incq_layer_desc& desc, const LayerCase& c) {
  Lifecycle r;
  const incq_device dev = cpu_device();
  incq_error err = fresh_error();
  incq_layer* layer = nullptr;
  if (d.create(d.impl_ctx, &desc, &dev, nullptr, 0, &layer, &err) != INCQ_OK || layer == nullptr) {
    r.error = "create: " + message_of(err);
    return r;
  }
  const std::vector<incq_named_tensor> named = c.named_views();
  incq_weight_bundle bundle{};
  bundle.struct_size = sizeof bundle;
  bundle.packing = c.scheme.packing;
  bundle.num_tensors = named.size();
  bundle.tensors = named.data();
  err = fresh_error();
  if (d.set_weights(layer, &bundle, &err) != INCQ_OK) r.error = "set_weights: " + message_of(err);
  if (r.error.empty() && d.process_weights(layer, &err) != INCQ_OK) r.error = "process_weights: " + message_of(err);
  r.output = incq::abi_test::output_buffer(c);
  incq_tensor y = incq::abi_test::output_view(c, r.output);
  const incq_tensor x = c.input_view();
  const incq_exec exec = incq::abi_test::serial_exec();
  if (r.error.empty()) {
    incq_status st;
    if (d.module_kind == INCQ_MODULE_MOE) {
      const incq_tensor ids = c.ids_view(), weights = c.weights_view();
      st = d.apply_moe(layer, &x, &ids, &weights, &y, &exec, &err);
    } else {
      st = d.apply_linear(layer, &x, &y, &exec, &err);
    }
    if (st != INCQ_OK) r.error = "apply: " + message_of(err);
  }
  if (r.error.empty() && has_resident_bytes(&d)) {
    uint64_t bytes = 0;
    if (d.resident_bytes(layer, &bytes, &err) != INCQ_OK) r.error = "resident_bytes: " + message_of(err);
    else if (bytes == 0) r.error = "resident_bytes: 0 for a layer holding weights";
  }
  d.destroy(layer);
  return r;
}

// Implementations this suite can run on the host's memory: INT family, on the CPU, whose plugin
// reports itself usable there.
std::vector<const incq_impl_desc*> cpu_int_impls(const incq_plugin_api& api,
                                                 const std::vector<const incq_impl_desc*>& impls) {
  incq_availability a{};
  a.struct_size = sizeof a;
  if (api.probe(INCQ_DEVICE_CPU, &a) != INCQ_OK || a.available != 1) return {};
  std::vector<const incq_impl_desc*> out;
  for (const incq_impl_desc* d : impls)
    if (d->family == INCQ_FAMILY_INT && (d->device_mask & INCQ_BIT(INCQ_DEVICE_CPU))) out.push_back(d);
  return out;
}

TEST_P(Conformance, IntImplementationsMatchTheOracleForEveryClaimedScheme) {
  const auto impls = cpu_int_impls(*api_, initialize());
  ASSERT_TRUE(initialized_);
  if (impls.empty()) GTEST_SKIP() << plugin_name() << " has no INT implementation usable on this CPU";
  for (const incq_impl_desc* d : impls) {
    SCOPED_TRACE(d->name);
    const auto schemes = claimed_int_schemes(*d, d->module_kind == INCQ_MODULE_MOE ? kHidden : kK,
                                             d->module_kind == INCQ_MODULE_MOE ? kInter : kN);
    EXPECT_FALSE(schemes.empty()) << "claims no (bits, sym, packing) an integer packing can store";
    uint32_t seed = 1;
    for (size_t i = 0; i < schemes.size(); ++i) {
      IntScheme s = schemes[i];
      // Every activation dtype it accepts on the first scheme, the preferred one on the rest.
      std::vector<int32_t> acts{s.act_dtype};
      if (i == 0)
        for (int32_t a : {INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
          if (a != s.act_dtype && (d->act_dtype_mask & INCQ_BIT(a))) acts.push_back(a);
      for (int32_t act : acts) {
        s.act_dtype = act;
        SCOPED_TRACE(incq::abi_test::describe(s));
        LayerCase c;
        const std::string refused = accepted_case(*d, s, seed++, c);
        EXPECT_EQ(refused, "");
        if (!refused.empty()) continue;
        SCOPED_TRACE("act_bits " + std::to_string(c.scheme.act_bits));
        const Lifecycle r = run_lifecycle(*d, c.desc(), c);
        EXPECT_EQ(r.error, "");
        if (r.error.empty()) {
          EXPECT_EQ(incq::abi_test::contract_violation(c, r.output, d->tolerance), "");
        }
      }
    }
  }
}

// Float-format implementations (FP8 / MX / NV / MXINT) are run through the host's own path: a
// small checkpoint of the implementation's family is synthesized with the host's quantizers, and
// `verify_model` — with this plugin's directory only and the implementation forced — loads it through
// the lifecycle and compares every output with the host's oracle (activation quantization
// included, docs/formats.md). Each float implementation of the plugin must pass.
const char* float_quantization_config(int32_t family) {
  switch (family) {
    case INCQ_FAMILY_FP8:
      return R"({"quant_method": "auto-round", "bits": 8, "data_type": "fp", "group_size": -1})";
    case INCQ_FAMILY_MX_FP:
      return R"({"quant_method": "auto-round", "bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4,
                 "act_data_type": "mx_fp", "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})";
    case INCQ_FAMILY_NV_FP:
      return R"({"quant_method": "auto-round", "bits": 4, "group_size": 16, "data_type": "nv_fp", "act_bits": 4,
                 "act_data_type": "nv_fp4_with_static_gs", "act_group_size": 16,
                 "packing_format": "auto_round:llm_compressor"})";
    case INCQ_FAMILY_MX_INT:
      return R"({"quant_method": "auto-round", "bits": 4, "group_size": 32, "data_type": "mx_int", "act_bits": 4,
                 "act_data_type": "mx_int", "act_group_size": 32, "packing_format": "auto_round"})";
    default:
      return nullptr;
  }
}

TEST_P(Conformance, FloatFormatImplementationsMatchTheOracleThroughTheHost) {
  const auto& impls = initialize();
  ASSERT_TRUE(initialized_);
  for (const incq_impl_desc* d : impls) {
    if (d->family == INCQ_FAMILY_INT) continue;  // the INT lifecycle tests above cover them
    const char* qc = float_quantization_config(d->family);
    ASSERT_NE(qc, nullptr) << d->name << ": no float case for family " << d->family;
    nlohmann::ordered_json spec;
    spec["seed"] = 5u;
    spec["num_experts_per_tok"] = 2;
    spec["quantization_config"] = nlohmann::ordered_json::parse(qc);
    if (d->module_kind == INCQ_MODULE_MOE)
      spec["layers"] = {{{"name", "model.layers.0.mlp.experts"}, {"num_experts", 3}, {"hidden_size", 64},
                         {"intermediate_size", 32}}};
    else
      spec["layers"] = {{{"name", "model.layers.0.self_attn.q_proj"}, {"in_features", 64}, {"out_features", 32},
                         {"bias", true}}};
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("incq-conformance-" + std::string(d->name));
    std::filesystem::remove_all(dir);
    incq::host::synthesize_checkpoint(spec, dir.string(), d->name);
    incq::host::HostSettings settings;
    settings.plugin_dirs = {std::filesystem::path(GetParam()).parent_path().string()};
    settings.threads = 1;
    settings.policy.cli_backend = incq::host::BackendChoice{d->name, "the conformance suite"};
    // A device-only implementation (inc_xpu) runs on its device through the host's device path.
    if (!(d->device_mask & INCQ_BIT(INCQ_DEVICE_CPU))) settings.policy.device_type = INCQ_DEVICE_OPENCL;
    incq::host::Host host(settings);
    incq::host::VerifyOptions o;
    o.tokens = {1, 3};
    const incq::host::ModelVerification r = incq::host::verify_model(host, dir.string(), o);
    ASSERT_EQ(r.modules.size(), 1u) << d->name;
    EXPECT_TRUE(r.modules[0].passed) << d->name << ": " << r.modules[0].error;
    EXPECT_EQ(r.modules[0].implementation, d->name);
    std::filesystem::remove_all(dir);
  }
}

// The first scheme each implementation accepts, with its accepted descriptor.
struct Accepted {
  const incq_impl_desc* impl;
  LayerCase layer;
  incq_layer_desc desc;
};

std::vector<Accepted> first_accepted_cases(const std::vector<const incq_impl_desc*>& impls) {
  std::vector<Accepted> out;
  for (const incq_impl_desc* d : impls) {
    const auto schemes = claimed_int_schemes(*d, d->module_kind == INCQ_MODULE_MOE ? kHidden : kK,
                                             d->module_kind == INCQ_MODULE_MOE ? kInter : kN);
    if (schemes.empty()) continue;
    Accepted a{d, {}, {}};
    if (!accepted_case(*d, schemes.front(), 7, a.layer).empty()) continue;
    a.desc = a.layer.desc();
    out.push_back(std::move(a));
  }
  return out;
}

TEST_P(Conformance, ApplyBeforeProcessWeightsFailsCleanly) {
  const auto cases = first_accepted_cases(cpu_int_impls(*api_, initialize()));
  ASSERT_TRUE(initialized_);
  if (cases.empty()) GTEST_SKIP() << plugin_name() << " has no INT implementation usable on this CPU";
  const incq_device dev = cpu_device();
  const incq_exec exec = incq::abi_test::serial_exec();
  for (const Accepted& a : cases) {
    SCOPED_TRACE(a.impl->name);
    const incq_impl_desc& d = *a.impl;
    const std::vector<incq_named_tensor> named = a.layer.named_views();
    incq_weight_bundle bundle{sizeof(incq_weight_bundle), a.layer.scheme.packing, named.size(), named.data()};
    std::vector<uint8_t> out = incq::abi_test::output_buffer(a.layer);
    incq_tensor y = incq::abi_test::output_view(a.layer, out);
    const incq_tensor x = a.layer.input_view(), ids = a.layer.ids_view(), weights = a.layer.weights_view();
    auto apply = [&](incq_layer* layer, incq_error* err) {
      return d.module_kind == INCQ_MODULE_MOE ? d.apply_moe(layer, &x, &ids, &weights, &y, &exec, err)
                                              : d.apply_linear(layer, &x, &y, &exec, err);
    };
    // Right after create, and again after set_weights: both before process_weights.
    for (bool with_weights : {false, true}) {
      SCOPED_TRACE(with_weights ? "after set_weights" : "right after create");
      incq_layer* layer = nullptr;
      incq_error err = fresh_error();
      ASSERT_EQ(d.create(d.impl_ctx, &a.desc, &dev, nullptr, 0, &layer, &err), INCQ_OK) << message_of(err);
      if (with_weights) {
        ASSERT_EQ(d.set_weights(layer, &bundle, &err), INCQ_OK) << message_of(err);
      }
      err = fresh_error();
      const incq_status st = apply(layer, &err);
      EXPECT_NE(st, INCQ_OK);
      EXPECT_EQ(err.code, st);
      EXPECT_FALSE(message_of(err).empty());
      d.destroy(layer);
    }
  }
}

// NULL pointers and nonsense values must come back as an error status with a message, never as a
// crash or an exception (which would terminate the process here).
TEST_P(Conformance, EntriesRejectNullAndGarbageArguments) {
  const auto& impls = initialize();
  ASSERT_TRUE(initialized_);
  const incq_device dev = cpu_device();
  const incq_exec exec = incq::abi_test::serial_exec();

  incq_layer_desc garbage{};
  garbage.struct_size = sizeof garbage;
  garbage.name = "garbage";
  garbage.module_kind = 77;
  garbage.scheme.struct_size = sizeof garbage.scheme;
  garbage.scheme.family = 99;
  garbage.scheme.bits = -3;
  garbage.act_dtype = 1234;
  garbage.in_features = -5;
  garbage.out_features = -1;

  incq_tensor bad_tensor{};
  bad_tensor.struct_size = sizeof bad_tensor;
  bad_tensor.dtype = 999;
  bad_tensor.ndim = 9;

  auto expect_error = [](incq_status st, const incq_error& err, const char* what) {
    EXPECT_NE(st, INCQ_OK) << what;
    EXPECT_EQ(err.code, st) << what;
    EXPECT_FALSE(message_of(err).empty()) << what;
  };

  for (const incq_impl_desc* d : impls) {
    SCOPED_TRACE(d->name);
    incq_error err = fresh_error();
    expect_error(d->can_implement(d->impl_ctx, nullptr, &dev, &err), err, "can_implement(NULL desc)");
    err = fresh_error();
    expect_error(d->can_implement(d->impl_ctx, &garbage, &dev, &err), err, "can_implement(garbage desc)");
    EXPECT_NE(d->can_implement(d->impl_ctx, &garbage, &dev, nullptr), INCQ_OK) << "can_implement, NULL err";
    incq_layer* layer = reinterpret_cast<incq_layer*>(0x1);  // must be left alone or cleared, never used
    err = fresh_error();
    expect_error(d->create(d->impl_ctx, nullptr, &dev, nullptr, 0, &layer, &err), err, "create(NULL desc)");
    err = fresh_error();
    expect_error(d->create(d->impl_ctx, &garbage, &dev, nullptr, 0, &layer, &err), err, "create(garbage desc)");
    err = fresh_error();
    expect_error(d->set_weights(nullptr, nullptr, &err), err, "set_weights(NULL layer)");
    err = fresh_error();
    expect_error(d->process_weights(nullptr, &err), err, "process_weights(NULL layer)");
    EXPECT_NE(d->process_weights(nullptr, nullptr), INCQ_OK) << "process_weights, NULL err";
    err = fresh_error();
    if (d->module_kind == INCQ_MODULE_LINEAR) {
      expect_error(d->apply_linear(nullptr, &bad_tensor, &bad_tensor, &exec, &err), err, "apply_linear(NULL layer)");
    } else {
      expect_error(d->apply_moe(nullptr, &bad_tensor, &bad_tensor, &bad_tensor, &bad_tensor, &exec, &err), err,
                   "apply_moe(NULL layer)");
    }
    if (has_resident_bytes(d)) {
      uint64_t bytes = 0;
      err = fresh_error();
      expect_error(d->resident_bytes(nullptr, &bytes, &err), err, "resident_bytes(NULL layer)");
    }
  }

  // With a real layer: NULL and nonsense inputs at every step.
  for (const Accepted& a : first_accepted_cases(cpu_int_impls(*api_, impls))) {
    SCOPED_TRACE(a.impl->name);
    const incq_impl_desc& d = *a.impl;
    incq_error err = fresh_error();
    expect_error(d.create(d.impl_ctx, &a.desc, &dev, nullptr, 0, nullptr, &err), err, "create(NULL out)");
    err = fresh_error();
    expect_error(d.can_implement(d.impl_ctx, &a.desc, nullptr, &err), err, "can_implement(NULL device)");
    incq_layer* layer = nullptr;
    err = fresh_error();
    ASSERT_EQ(d.create(d.impl_ctx, &a.desc, &dev, nullptr, 0, &layer, &err), INCQ_OK) << message_of(err);
    err = fresh_error();
    expect_error(d.set_weights(layer, nullptr, &err), err, "set_weights(NULL bundle)");
    err = fresh_error();
    expect_error(d.process_weights(layer, &err), err, "process_weights without weights");

    // A bundle with one nonsense tensor under an unknown name.
    const incq_named_tensor junk{"no_such_tensor", bad_tensor};
    const incq_weight_bundle junk_bundle{sizeof(incq_weight_bundle), a.layer.scheme.packing, 1, &junk};
    err = fresh_error();
    incq_status st = d.set_weights(layer, &junk_bundle, &err);
    if (st == INCQ_OK) st = d.process_weights(layer, &err);
    expect_error(st, err, "set_weights/process_weights(junk bundle)");

    // Properly processed, then fed bad activations.
    const std::vector<incq_named_tensor> named = a.layer.named_views();
    const incq_weight_bundle bundle{sizeof(incq_weight_bundle), a.layer.scheme.packing, named.size(), named.data()};
    err = fresh_error();
    ASSERT_EQ(d.set_weights(layer, &bundle, &err), INCQ_OK) << message_of(err);
    ASSERT_EQ(d.process_weights(layer, &err), INCQ_OK) << message_of(err);
    std::vector<uint8_t> out = incq::abi_test::output_buffer(a.layer);
    incq_tensor y = incq::abi_test::output_view(a.layer, out);
    const incq_tensor x = a.layer.input_view(), ids = a.layer.ids_view(), weights = a.layer.weights_view();
    if (d.module_kind == INCQ_MODULE_LINEAR) {
      err = fresh_error();
      expect_error(d.apply_linear(layer, nullptr, &y, &exec, &err), err, "apply_linear(NULL x)");
      err = fresh_error();
      expect_error(d.apply_linear(layer, &x, nullptr, &exec, &err), err, "apply_linear(NULL y)");
      err = fresh_error();
      expect_error(d.apply_linear(layer, &bad_tensor, &y, &exec, &err), err, "apply_linear(garbage x)");
      err = fresh_error();
      expect_error(d.apply_linear(layer, &x, &bad_tensor, &exec, &err), err, "apply_linear(garbage y)");
    } else {
      err = fresh_error();
      expect_error(d.apply_moe(layer, nullptr, &ids, &weights, &y, &exec, &err), err, "apply_moe(NULL hidden)");
      err = fresh_error();
      expect_error(d.apply_moe(layer, &x, nullptr, &weights, &y, &exec, &err), err, "apply_moe(NULL ids)");
      err = fresh_error();
      expect_error(d.apply_moe(layer, &x, &ids, &bad_tensor, &y, &exec, &err), err, "apply_moe(garbage weights)");
      err = fresh_error();
      expect_error(d.apply_moe(layer, &x, &ids, &weights, &bad_tensor, &exec, &err), err, "apply_moe(garbage out)");
    }
    if (has_resident_bytes(&d)) {
      err = fresh_error();
      expect_error(d.resident_bytes(layer, nullptr, &err), err, "resident_bytes(NULL bytes)");
    }
    d.destroy(layer);
  }
}

// A failing entry given an incq_error sized without its message writes nothing past struct_size.
TEST_P(Conformance, ErrorsRespectTheCallersStructSize) {
  const auto& impls = initialize();
  ASSERT_TRUE(initialized_);
  constexpr unsigned char kCanary = 0x5A;
  const incq_device dev = cpu_device();
  for (const incq_impl_desc* d : impls) {
    SCOPED_TRACE(d->name);
    std::vector<unsigned char> buffer(sizeof(incq_error), kCanary);
    auto* err = reinterpret_cast<incq_error*>(buffer.data());
    const size_t size = offsetof(incq_error, code) + sizeof(int32_t);
    err->struct_size = size;
    const incq_status st = d->can_implement(d->impl_ctx, nullptr, &dev, err);
    EXPECT_NE(st, INCQ_OK);
    EXPECT_EQ(err->struct_size, size);
    EXPECT_EQ(err->code, st) << "code fits inside struct_size, so it is written";
    size_t overwritten = 0;
    for (size_t i = size; i < buffer.size(); ++i) overwritten += buffer[i] != kCanary;
    EXPECT_EQ(overwritten, 0u);
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string stem = std::filesystem::path(info.param).stem().string();
  if (stem.rfind("libincq_", 0) == 0) stem = stem.substr(8);
  for (char& ch : stem)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return stem;
}

INSTANTIATE_TEST_SUITE_P(BuiltPlugins, Conformance, ::testing::ValuesIn(plugin_files()), case_name);

}  // namespace
