// Tests of the inc_cpu block-scaled reference (MXFP4, MXFP8, NVFP4, MXINT4; Linear and MoE; weight-
// only and with AutoRound's activation quantization). Decoders and quantizers against hand-derived
// values; layers through the real plugin (dlopen) like a host; and AutoRound's own outputs for the
// exported fixtures in tests/fixtures/autoround/{mxfp4,mxfp8,nvfp4,mxint4}.
// Expected values come from the formats' definitions written out here, never from the plugin.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"
#include "mx_act_quant.hpp"
#include "mx_decode.hpp"
#include "safetensors/safetensors.hpp"

using namespace incq::inc_cpu;
using incq::float_to_half;
using incq::half_to_float;
using ::testing::HasSubstr;

namespace {

// ---------------------------------------------------------------- the test's own decoders
// Straight from the definitions (OCP MX v1.0 and OFP8; MXINT4 from AutoRound's mxint4_utils.py).

const double kE2M1[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
const double kMxInt4[16] = {0, .25, .5, .75, 1, 1.25, 1.5, 1.75, -0.0, -.25, -.5, -.75, -1, -1.25, -1.5, -1.75};

double test_e4m3(uint8_t b) {
  const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
  const double mag = e == 0 ? m / 8.0 * std::pow(2.0, -6) : (1 + m / 8.0) * std::pow(2.0, e - 7);
  return s ? -mag : mag;
}
double test_e8m0(uint8_t s) { return std::pow(2.0, int(s) - 127); }

double f16(double v) { return half_to_float(float_to_half(static_cast<float>(v))); }

// ---------------------------------------------------------------- bundles and plugin

incq_tensor make_tensor(const void* data, int32_t dtype, std::vector<int64_t> shape) {
  incq_tensor t{};
  t.struct_size = sizeof t;
  t.data = const_cast<void*>(data);
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = stride;
    stride *= shape[i];
  }
  t.device_type = INCQ_DEVICE_CPU;
  return t;
}

class BundleBuilder {
 public:
  template <typename T>
  void add(const std::string& name, int32_t dtype, std::vector<int64_t> shape, const std::vector<T>& data) {
    bytes_.emplace_back(data.size() * sizeof(T));
    if (!data.empty()) std::memcpy(bytes_.back().data(), data.data(), bytes_.back().size());
    add_view(name, make_tensor(bytes_.back().data(), dtype, shape));
  }
  void add_view(const std::string& name, const incq_tensor& t) {
    names_.push_back(name);
    entries_.push_back({names_.back().c_str(), t});
  }
  void remove(const std::string& name) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->name == name) { entries_.erase(it); return; }
    throw std::runtime_error("no tensor " + name);
  }
  const incq_weight_bundle* bundle() {
    bundle_ = incq_weight_bundle{sizeof(incq_weight_bundle), INCQ_PACKING_LLM_COMPRESSOR, entries_.size(),
                                 entries_.data()};
    return &bundle_;
  }

 private:
  std::deque<std::string> names_;
  std::deque<std::vector<uint8_t>> bytes_;
  std::vector<incq_named_tensor> entries_;
  incq_weight_bundle bundle_{};
};

struct FakeHost {
  std::vector<const incq_impl_desc*> impls;
  static incq_status register_impl(void* ctx, const incq_impl_desc* desc, incq_error*) {
    static_cast<FakeHost*>(ctx)->impls.push_back(desc);
    return INCQ_OK;
  }
};

// The plugin initialized once; its descriptors by name.
const std::map<std::string, const incq_impl_desc*>& impls() {
  static auto* out = [] {
    auto* m = new std::map<std::string, const incq_impl_desc*>;
    static FakeHost host;
    static incq_host_api table{};
    table.struct_size = sizeof table;
    table.abi_major = INCQ_ABI_VERSION_MAJOR;
    table.abi_minor = INCQ_ABI_VERSION_MINOR;
    table.host_ctx = &host;
    table.register_impl = &FakeHost::register_impl;
    void* lib = dlopen(INCQ_TEST_PLUGIN_DIR "/libincq_inc_cpu.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return m;
    auto entry = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(lib, INCQ_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr || entry() == nullptr) return m;
    incq_error err{sizeof(incq_error), 0, {}};
    if (entry()->initialize(&table, nullptr, 0, &err) != INCQ_OK) return m;
    for (const incq_impl_desc* d : host.impls) (*m)[d->name] = d;
    return m;
  }();
  return *out;
}

const incq_impl_desc* impl(const std::string& name) {
  auto it = impls().find(name);
  return it == impls().end() ? nullptr : it->second;
}

incq_device cpu_device() {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_CPU;
  return d;
}

// A scheme as the host resolves AutoRound's configs (host_stub/config/scheme_fields.cpp).
struct Scheme {
  int32_t family = INCQ_FAMILY_MX_FP;
  int32_t bits = 4;
  int32_t act_family = INCQ_FAMILY_DENSE;
  int32_t act_bits = 16;
  int32_t group() const { return family == INCQ_FAMILY_NV_FP ? 16 : 32; }
  int32_t weight_dtype() const { return bits == 8 ? INCQ_DTYPE_F8_E4M3 : INCQ_DTYPE_U8; }
  std::string impl_name(bool moe) const {
    const char* f = family == INCQ_FAMILY_MX_FP ? "mx_fp" : family == INCQ_FAMILY_NV_FP ? "nv_fp" : "mx_int";
    return std::string("inc_cpu.ref.") + f + (moe ? "_moe" : "_linear");
  }
  Scheme with_acts() const {  // AutoRound's W4A4 / W8A8 of the same family
    Scheme s = *this;
    s.act_family = family;
    s.act_bits = bits;
    return s;
  }
};

incq_layer_desc layer_desc(const Scheme& s, int64_t K, int64_t N, int32_t act_dtype, bool bias) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = "L";
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = s.family;
  d.scheme.bits = s.bits;
  d.scheme.group_size = s.group();
  d.scheme.sym = 1;
  d.scheme.packing = INCQ_PACKING_LLM_COMPRESSOR;
  d.scheme.act_bits = s.act_bits;
  d.scheme.act_dynamic = s.act_bits < 16;
  d.scheme.weight_dtype = s.weight_dtype();
  d.scheme.act_family = s.act_family;
  d.scheme.act_group_size = s.act_bits < 16 ? s.group() : 0;
  d.scheme.act_sym = 1;
  d.act_dtype = act_dtype;
  d.has_bias = bias;
  d.in_features = K;
  d.out_features = N;
  return d;
}

// A created and processed layer; destroyed with the object.
struct Layer {
  const incq_impl_desc* d = nullptr;
  incq_layer* handle = nullptr;
  std::string message;
  Layer(const incq_impl_desc* desc, const incq_layer_desc& ld) : d(desc) {
    const incq_device dev = cpu_device();
    incq_error err{sizeof(incq_error), 0, {}};
    if (d->create(d->impl_ctx, &ld, &dev, nullptr, 0, &handle, &err) != INCQ_OK) message = err.message;
  }
  ~Layer() {
    if (handle != nullptr) d->destroy(handle);
  }
  incq_status load(const incq_weight_bundle* b) {
    incq_error err{sizeof(incq_error), 0, {}};
    incq_status st = d->set_weights(handle, b, &err);
    if (st == INCQ_OK) st = d->process_weights(handle, &err);
    message = err.message;
    return st;
  }
};

// Activations in F32 / F16 held as raw bytes.
struct Acts {
  int32_t dtype;
  int64_t rows, cols;
  std::vector<uint8_t> bytes;
  Acts(int32_t dt, int64_t r, int64_t c) : dtype(dt), rows(r), cols(c), bytes(r * c * incq::dtype_size(dt)) {}
  void set(int64_t r, int64_t c, double v) {
    const size_t at = (r * cols + c) * incq::dtype_size(dtype);
    if (dtype == INCQ_DTYPE_F32) {
      const float f = static_cast<float>(v);
      std::memcpy(&bytes[at], &f, 4);
    } else {
      const uint16_t h = float_to_half(static_cast<float>(v));
      std::memcpy(&bytes[at], &h, 2);
    }
  }
  double get(int64_t r, int64_t c) const {
    const size_t at = (r * cols + c) * incq::dtype_size(dtype);
    if (dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, &bytes[at], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[at], 2);
    return half_to_float(h);
  }
  incq_tensor view() { return make_tensor(bytes.data(), dtype, {rows, cols}); }
};

incq_status apply(const Layer& layer, Acts& x, Acts& y, std::string* message = nullptr,
                  const incq_exec* exec = nullptr) {
  incq_tensor xt = x.view(), yt = y.view();
  incq_error err{sizeof(incq_error), 0, {}};
  incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
  const incq_status st = layer.d->apply_linear(layer.handle, &xt, &yt, exec ? exec : &serial, &err);
  if (message != nullptr) *message = err.message;
  return st;
}

#define REQUIRE_PLUGIN() ASSERT_FALSE(impls().empty()) << "could not load the inc_cpu plugin"

// Packs nibbles [N][K] (codes 0..15) into weight_packed [N, K/2], low nibble first.
std::vector<uint8_t> pack_nibbles(const std::vector<uint8_t>& codes, int64_t N, int64_t K) {
  std::vector<uint8_t> out(N * K / 2);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; k += 2)
      out[n * K / 2 + k / 2] = uint8_t((codes[n * K + k] & 15) | ((codes[n * K + k + 1] & 15) << 4));
  return out;
}

}  // namespace

// ================================================================ decoders

TEST(Decode, EveryE2M1Code) {
  for (int c = 0; c < 16; ++c) {
    EXPECT_EQ(e2m1_value(uint8_t(c)), kE2M1[c]) << c;
    EXPECT_EQ(std::signbit(e2m1_value(uint8_t(c))), c >= 8) << c;
  }
}

TEST(Decode, EveryMxInt4Code) {
  for (int c = 0; c < 16; ++c) EXPECT_EQ(mxint4_value(uint8_t(c)), kMxInt4[c]) << c;
}

TEST(Decode, E4M3NormalsSubnormalsAndNaN) {
  EXPECT_EQ(e4m3_value(0x00), 0.0f);
  EXPECT_EQ(e4m3_value(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(e4m3_value(0x07), 7 * std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_value(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(e4m3_value(0x38), 1.0f);
  EXPECT_EQ(e4m3_value(0x3C), 1.5f);
  EXPECT_EQ(e4m3_value(0x7E), 448.0f);
  EXPECT_EQ(e4m3_value(0xB9), -1.125f);
  EXPECT_TRUE(std::signbit(e4m3_value(0x80)));
  EXPECT_TRUE(e4m3_is_nan(0x7F));
  EXPECT_TRUE(e4m3_is_nan(0xFF));
  EXPECT_FALSE(e4m3_is_nan(0x7E));
  for (int b = 0; b < 256; ++b)
    if (!e4m3_is_nan(uint8_t(b))) {
      EXPECT_EQ(double(e4m3_value(uint8_t(b))), test_e4m3(uint8_t(b))) << b;
    }
}

TEST(Decode, E8M0Extremes) {
  EXPECT_EQ(e8m0_value(0), std::ldexp(1.0, -127));
  EXPECT_EQ(e8m0_value(127), 1.0);
  EXPECT_EQ(e8m0_value(254), std::ldexp(1.0, 127));
  EXPECT_TRUE(e8m0_is_nan(255));
  EXPECT_FALSE(e8m0_is_nan(254));
}

// ================================================================ element rounding

TEST(RoundToElement, E2M1TiesToEvenAndSaturation) {
  const std::pair<double, double> cases[] = {
      {0.25, 0.0}, {0.26, 0.5}, {0.75, 1.0}, {1.25, 1.0}, {1.75, 2.0}, {2.5, 2.0}, {3.5, 4.0},
      {5.0, 4.0},  {5.1, 6.0},  {7.9, 6.0},  {-5.0, -4.0}, {-0.75, -1.0}, {2.9, 3.0}, {0.0, 0.0}};
  for (auto [in, want] : cases) EXPECT_EQ(round_to_element(in, kE2M1Format), want) << in;
}

TEST(RoundToElement, E4M3AndInt4) {
  EXPECT_EQ(round_to_element(1.0625, kE4M3Format), 1.0);    // tie: 1.000 vs 1.001 -> even
  EXPECT_EQ(round_to_element(1.1875, kE4M3Format), 1.25);   // tie: 1.011 vs 1.100 -> even
  EXPECT_EQ(round_to_element(500.0, kE4M3Format), 448.0);   // saturates
  EXPECT_EQ(round_to_element(std::ldexp(1.0, -10), kE4M3Format), 0.0);  // half the smallest subnormal
  EXPECT_EQ(round_to_element(3 * std::ldexp(1.0, -10), kE4M3Format), std::ldexp(1.0, -8));
  EXPECT_EQ(round_to_element(0.125, kInt4Format), 0.0);
  EXPECT_EQ(round_to_element(0.375, kInt4Format), 0.5);
  EXPECT_EQ(round_to_element(1.9, kInt4Format), 1.75);
  EXPECT_EQ(round_to_e4m3(448.0f), 448.0f);
  EXPECT_EQ(round_to_e4m3(0.3f), 0.3125f);  // 0.3 = 1.2 * 2^-2; 1.2 -> 1.25
  EXPECT_EQ(round_to_e4m3(std::ldexp(3.0f, -10)), std::ldexp(1.0f, -8));
}

// ================================================================ activation quantization

namespace {

std::vector<double> quantize(int32_t family, int32_t bits, int32_t group, std::vector<double> row,
                             float gs = 0.0f) {
  ActQuant q;
  std::string why;
  EXPECT_TRUE(act_quant_of(family, bits, group, &q, &why)) << why;
  q.global_scale = gs;
  act_quant_row(q, row.data(), int64_t(row.size()));
  return row;
}

}  // namespace

// amax 3.0: floor(log2 3) = 1, shared exponent 1 - emax(2) = -1, scale 0.5; x / 0.5 rounds to E2M1.
TEST(ActQuant, Mxfp4BlockByHand) {
  std::vector<double> x(32, 0.0), want(32, 0.0);
  const double in[] = {3.0, 0.125, 0.375, 2.6, 2.5, -1.3, 1.0, -3.0};
  const double out[] = {3.0, 0.0, 0.5, 3.0, 2.0, -1.5, 1.0, -3.0};
  // 0.125/0.5 = 0.25 tie -> 0; 0.375/0.5 = 0.75 tie -> 1 (0.5); 2.6/0.5 = 5.2 -> 6 (3.0);
  // 2.5/0.5 = 5 tie -> 4 (2.0); -1.3/0.5 = -2.6 -> -3 (-1.5).
  for (int i = 0; i < 8; ++i) { x[i] = in[i]; want[i] = out[i]; }
  EXPECT_EQ(quantize(INCQ_FAMILY_MX_FP, 4, 32, x), want);
}

TEST(ActQuant, Mxfp4SaturatesBelowTheNextPowerOfTwo) {
  // amax 3.9: scale still 0.5 (floor(log2 3.9) = 1), 3.9 / 0.5 = 7.8 clamps to 6 -> 3.0.
  std::vector<double> x(32, 0.0);
  x[5] = 3.9;
  x[6] = -0.9;  // -1.8 -> -2 -> -1.0
  const auto y = quantize(INCQ_FAMILY_MX_FP, 4, 32, x);
  EXPECT_EQ(y[5], 3.0);
  EXPECT_EQ(y[6], -1.0);
}

TEST(ActQuant, ZeroBlockStaysZeroAndBlocksAreIndependent) {
  std::vector<double> x(64, 0.0);
  x[40] = 1.0;
  x[41] = 0.2;  // block 2 amax 1: scale 2^-2; 0.2 / 0.25 = 0.8 -> 1.0 -> 0.25
  const auto y = quantize(INCQ_FAMILY_MX_FP, 4, 32, x);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], 0.0);
  EXPECT_EQ(y[40], 1.0);
  EXPECT_EQ(y[41], 0.25);
}

TEST(ActQuant, PartialLastBlockIsItsOwnBlock) {
  std::vector<double> x(40, 0.0);
  x[0] = 4.0;    // block 0: scale 2^(2-2) = 1
  x[1] = 0.7;    // 0.7 -> 0.5
  x[33] = 0.7;   // block 1 (8 elements): amax 0.7, scale 2^(-1-2); 5.6 -> 6 -> 0.75
  const auto y = quantize(INCQ_FAMILY_MX_FP, 4, 32, x);
  EXPECT_EQ(y[1], 0.5);
  EXPECT_EQ(y[33], 0.75);
}

TEST(ActQuant, Mxfp8BlockByHand) {
  // amax 1.0: shared exponent 0 - 8 = -8, elements x * 256 rounded to E4M3.
  std::vector<double> x(32, 0.0);
  x[0] = 1.0;
  x[1] = 1.0 + 1.0 / 32;  // 264 between 256 and 288 (step 32): 264 -> 256
  x[2] = 0.3;             // 76.8: step 8 in [64,128): 80 -> 0.3125
  x[3] = -0.001;          // 0.256: subnormal step 2^-9*... -> 0.25 (2^-2 = 32 * 2^-9 ... exact)
  const auto y = quantize(INCQ_FAMILY_MX_FP, 8, 32, x);
  EXPECT_EQ(y[0], 1.0);
  EXPECT_EQ(y[1], 1.0);
  EXPECT_EQ(y[2], 0.3125);
  // 0.256 in E4M3 (normal, exponent -2, step 2^-5): 0.256 / 2^-5 = 8.192 -> 8 -> 0.25; / 256.
  EXPECT_EQ(y[3], -0.25 / 256);
}

// MX_INT activations on the E0M4 grid (docs/formats.md §3): amax 1.9 gives E = 0 - 0, so 1.9
// saturates at 1.75 and 0.3 * 4 = 1.2 rounds to 1 -> 0.25; 0.375 * 4 = 1.5 ties to 2 -> 0.5.
// (AutoRound's MXINT4QuantLinear would give 1.5 for 1.9: its E2M1 grid, see the fixture test.)
TEST(ActQuant, MxIntActivationsOnTheE0M4Grid) {
  std::vector<double> x(32, 0.0);
  x[0] = 1.9;
  x[1] = 0.3;
  x[2] = 0.375;
  const auto y = quantize(INCQ_FAMILY_MX_INT, 4, 32, x);
  EXPECT_EQ(y[0], 1.75);
  EXPECT_EQ(y[1], 0.25);
  EXPECT_EQ(y[2], 0.5);
}

TEST(ActQuant, Nvfp4BlockByHand) {
  // Global scale 1: block scale e4m3(6 * fl(1/6)) = 1, so elements round to E2M1 directly.
  std::vector<double> x(16, 0.0);
  const double in[] = {6.0, 5.0, 0.25, 0.75, -2.5, 3.5, 1.75};
  const double out[] = {6.0, 4.0, 0.0, 1.0, -2.0, 4.0, 2.0};
  for (int i = 0; i < 7; ++i) x[i] = in[i];
  const auto y = quantize(INCQ_FAMILY_NV_FP, 4, 16, x, 1.0f);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(y[i], out[i]) << i;
  // Global scale 2^-4, amax 12: scale = e4m3(2^-4 * 2) = 0.125, elements x * 2^-4 / 0.125 = x / 2.
  std::vector<double> z(16, 0.0);
  z[0] = 12.0;
  z[1] = 1.0;  // 0.5 -> 0.5 -> 1.0
  z[2] = 2.6;  // 1.3 -> 1.5 -> 3.0
  const auto w = quantize(INCQ_FAMILY_NV_FP, 4, 16, z, 0.0625f);
  EXPECT_EQ(w[0], 12.0);
  EXPECT_EQ(w[1], 1.0);
  EXPECT_EQ(w[2], 3.0);
  // An all-zero block gives a zero scale, whose reciprocal AutoRound defines as 0: all zeros.
  const auto zero = quantize(INCQ_FAMILY_NV_FP, 4, 16, std::vector<double>(16, 0.0), 3.0f);
  for (double v : zero) EXPECT_EQ(v, 0.0);
}

TEST(ActQuant, InputsAreFp32NumbersFirst) {
  // 1 + 2^-30 is no fp32 number: it becomes 1.0 before quantization, like AutoRound's .to(float32).
  std::vector<double> x(32, 0.0);
  x[0] = 1.0 + std::ldexp(1.0, -30);
  EXPECT_EQ(quantize(INCQ_FAMILY_MX_FP, 8, 32, x)[0], 1.0);
}

TEST(ActQuant, UnsupportedCombinationsSayWhy) {
  ActQuant q;
  std::string why;
  EXPECT_FALSE(act_quant_of(INCQ_FAMILY_INT, 8, -1, &q, &why));
  EXPECT_THAT(why, HasSubstr("INT with act_bits = 8 not supported"));
  EXPECT_FALSE(act_quant_of(INCQ_FAMILY_MX_FP, 4, 0, &q, &why));
  EXPECT_THAT(why, HasSubstr("act_group_size = 0 invalid"));
  EXPECT_TRUE(act_quant_of(INCQ_FAMILY_DENSE, 16, 0, &q, &why));
  EXPECT_EQ(q.kind, ActKind::None);
}

// ================================================================ registration and can_implement

TEST(Plugin, RegistersOneLinearAndOneMoePerFamily) {
  REQUIRE_PLUGIN();
  for (const char* name : {"inc_cpu.ref.mx_fp_linear", "inc_cpu.ref.nv_fp_linear", "inc_cpu.ref.mx_int_linear",
                           "inc_cpu.ref.mx_fp_moe", "inc_cpu.ref.nv_fp_moe", "inc_cpu.ref.mx_int_moe"}) {
    ASSERT_NE(impl(name), nullptr) << name;
  }
  EXPECT_EQ(impl("inc_cpu.ref.mx_fp_linear")->family, INCQ_FAMILY_MX_FP);
  EXPECT_EQ(impl("inc_cpu.ref.nv_fp_moe")->family, INCQ_FAMILY_NV_FP);
  EXPECT_EQ(impl("inc_cpu.ref.mx_int_linear")->bits_mask, INCQ_BIT(4));
}

namespace {

std::string why_not(const std::string& impl_name, const incq_layer_desc& d) {
  const incq_impl_desc* i = impl(impl_name);
  const incq_device dev = cpu_device();
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status st = i->can_implement(i->impl_ctx, &d, &dev, &err);
  return st == INCQ_OK ? "OK" : err.message;
}

}  // namespace

TEST(CanImplement, AcceptsEveryFamilyWeightOnlyAndWithActivations) {
  REQUIRE_PLUGIN();
  const Scheme schemes[] = {{INCQ_FAMILY_MX_FP, 4}, {INCQ_FAMILY_MX_FP, 8}, {INCQ_FAMILY_NV_FP, 4},
                            {INCQ_FAMILY_MX_INT, 4}};
  for (const Scheme& s : schemes) {
    for (const Scheme& t : {s, s.with_acts()}) {
      for (int32_t dt : {INCQ_DTYPE_F32, INCQ_DTYPE_F16, INCQ_DTYPE_BF16}) {
        EXPECT_EQ(why_not(s.impl_name(false), layer_desc(t, 64, 48, dt, true)), "OK") << s.impl_name(false);
      }
    }
  }
}

TEST(CanImplement, RejectsWithPreciseReasons) {
  REQUIRE_PLUGIN();
  const Scheme mx{INCQ_FAMILY_MX_FP, 4};
  const std::string lin = mx.impl_name(false);
  EXPECT_EQ(why_not(lin, layer_desc(mx, 48, 8, INCQ_DTYPE_F32, false)),
            "MXFP4 scales blocks of 32 along K: K must be a multiple of 32 (K = 48, N = 8)");
  incq_layer_desc d = layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false);
  d.scheme.weight_dtype = INCQ_DTYPE_F8_E4M3;
  EXPECT_EQ(why_not(lin, d), "weight dtype F8_E4M3 not supported (MXFP4 stores U8)");
  d = layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false);
  d.scheme.group_size = 64;
  EXPECT_EQ(why_not(lin, d), "group_size = 64 not supported (MXFP4 has one scale per 32 elements)");
  d = layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false);
  d.scheme.packing = INCQ_PACKING_GPTQ_V2;
  EXPECT_EQ(why_not(lin, d), "packing GPTQ_V2 not supported (MXFP4 tensors are read in the LLM_COMPRESSOR layout)");
  d = layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false);
  d.scheme.bits = 6;
  EXPECT_EQ(why_not(lin, d), "MX_FP with bits = 6 not supported (MX_FP 4 or 8, NV_FP 4, MX_INT 4)");
  d = layer_desc(mx.with_acts(), 64, 8, INCQ_DTYPE_F32, false);
  d.scheme.act_family = INCQ_FAMILY_INT;
  d.scheme.act_bits = 8;
  EXPECT_THAT(why_not(lin, d), HasSubstr("activation quantization INT with act_bits = 8 not supported"));
  EXPECT_EQ(why_not("inc_cpu.ref.nv_fp_linear", layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false)),
            "scheme family MX_FP not supported (this implementation serves NV_FP)");
  EXPECT_EQ(why_not(mx.impl_name(true), layer_desc(mx, 64, 8, INCQ_DTYPE_F32, false)),
            "not a MoE layer (this implementation is MoE only)");
}

// ================================================================ hand-built layers

namespace {

// x = identity / 8 (F32), so y[m, n] = w[n, m] / 8 + bias[n]: every decoded weight is visible.
void expect_weights(const Scheme& s, BundleBuilder& b, int64_t K, int64_t N, const std::vector<double>& w,
                    const std::vector<double>& bias = {}) {
  Layer layer(impl(s.impl_name(false)), layer_desc(s, K, N, INCQ_DTYPE_F32, !bias.empty()));
  ASSERT_EQ(layer.load(b.bundle()), INCQ_OK) << layer.message;
  Acts x(INCQ_DTYPE_F32, K, K), y(INCQ_DTYPE_F32, K, N);
  for (int64_t k = 0; k < K; ++k) x.set(k, k, 0.125);
  ASSERT_EQ(apply(layer, x, y), INCQ_OK);
  for (int64_t m = 0; m < K; ++m)
    for (int64_t n = 0; n < N; ++n)
      EXPECT_EQ(y.get(m, n), w[n * K + m] / 8 + (bias.empty() ? 0.0 : bias[n])) << "n " << n << " k " << m;
}

}  // namespace

// Row 0: every E2M1 code twice under scale 2^0; row 1 under 2^127 (E8M0 254); row 2 under 2^-127
// (E8M0 0), the extremes of the scale.
TEST(HandLinear, Mxfp4EveryCodeAndE8M0Extremes) {
  REQUIRE_PLUGIN();
  const int64_t K = 32, N = 3;
  std::vector<uint8_t> codes(N * K);
  for (int64_t i = 0; i < N * K; ++i) codes[i] = uint8_t(i % 16);
  const uint8_t scale_of_row[N] = {127, 254, 0};
  std::vector<double> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w[n * K + k] = kE2M1[codes[n * K + k]] * test_e8m0(scale_of_row[n]);
  BundleBuilder b;
  b.add("weight_packed", INCQ_DTYPE_U8, {N, K / 2}, pack_nibbles(codes, N, K));
  b.add("weight_scale", INCQ_DTYPE_U8, {N, 1}, std::vector<uint8_t>(scale_of_row, scale_of_row + N));
  // 6 * 2^127 / 8 fits in F32; the row-1 products 4 * 2^127 and 6 * 2^127 are the largest.
  expect_weights({INCQ_FAMILY_MX_FP, 4}, b, K, N, w);
}

TEST(HandLinear, Mxint4EveryCodeWithBias) {
  REQUIRE_PLUGIN();
  const int64_t K = 64, N = 2;
  std::vector<uint8_t> codes(N * K);
  for (int64_t i = 0; i < N * K; ++i) codes[i] = uint8_t((i * 7) % 16);
  const std::vector<uint8_t> scales = {126, 130, 127, 120};  // [N, 2]: 0.5, 8, 1, 2^-7
  std::vector<double> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w[n * K + k] = kMxInt4[codes[n * K + k]] * test_e8m0(scales[n * 2 + k / 32]);
  const std::vector<uint16_t> bias = {float_to_half(0.75f), float_to_half(-2.5f)};
  BundleBuilder b;
  b.add("weight_packed", INCQ_DTYPE_U8, {N, K / 2}, pack_nibbles(codes, N, K));
  b.add("weight_scale", INCQ_DTYPE_U8, {N, 2}, scales);
  b.add("bias", INCQ_DTYPE_F16, {N}, bias);
  expect_weights({INCQ_FAMILY_MX_INT, 4}, b, K, N, w, {0.75, -2.5});
}

TEST(HandLinear, Mxfp8E4M3ElementsIncludingSubnormals) {
  REQUIRE_PLUGIN();
  const int64_t K = 32, N = 2;
  std::vector<uint8_t> codes(N * K);
  const uint8_t chosen[] = {0x00, 0x01, 0x07, 0x08, 0x38, 0x3C, 0x7E, 0xFE, 0x80, 0xB9, 0x55, 0x2A};
  for (int64_t i = 0; i < N * K; ++i) codes[i] = chosen[i % 12];
  const std::vector<uint8_t> scales = {130, 100};  // 8, 2^-27
  std::vector<double> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w[n * K + k] = test_e4m3(codes[n * K + k]) * test_e8m0(scales[n]);
  BundleBuilder b;
  b.add("weight", INCQ_DTYPE_F8_E4M3, {N, K}, codes);
  b.add("weight_scale", INCQ_DTYPE_U8, {N, 1}, scales);
  expect_weights({INCQ_FAMILY_MX_FP, 8}, b, K, N, w);
}

// NVFP4: w = fp4 * scale / weight_global_scale; E4M3 block scales including subnormals.
TEST(HandLinear, Nvfp4E4M3ScalesAndGlobalScale) {
  REQUIRE_PLUGIN();
  const int64_t K = 32, N = 2;
  std::vector<uint8_t> codes(N * K);
  for (int64_t i = 0; i < N * K; ++i) codes[i] = uint8_t((i * 5 + 3) % 16);
  const std::vector<uint8_t> scales = {0x01, 0x3C, 0x07, 0x7E};  // 2^-9, 1.5, 7*2^-9, 448
  const float global = 0.25f;
  std::vector<double> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w[n * K + k] = kE2M1[codes[n * K + k]] * test_e4m3(scales[n * 2 + k / 16]) / global;
  BundleBuilder b;
  b.add("weight_packed", INCQ_DTYPE_U8, {N, K / 2}, pack_nibbles(codes, N, K));
  b.add("weight_scale", INCQ_DTYPE_F8_E4M3, {N, 2}, scales);
  b.add("weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{global});
  b.add("input_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{100.0f});  // unused weight-only
  expect_weights({INCQ_FAMILY_NV_FP, 4}, b, K, N, w);
}

// With an identity weight, y is the quantized x itself: the activation quantizer seen through the
// whole Linear (rounded into the F16 output, which the quantized values are exact in).
TEST(HandLinear, ActivationQuantizationThroughTheLayer) {
  REQUIRE_PLUGIN();
  const int64_t K = 32;
  std::vector<uint8_t> codes(K * K, 0);
  for (int64_t k = 0; k < K; ++k) codes[k * K + k] = 2;  // E2M1 1.0
  BundleBuilder b;
  b.add("weight_packed", INCQ_DTYPE_U8, {K, K / 2}, pack_nibbles(codes, K, K));
  b.add("weight_scale", INCQ_DTYPE_U8, {K, 1}, std::vector<uint8_t>(K, 127));
  const Scheme s = Scheme{INCQ_FAMILY_MX_FP, 4}.with_acts();
  Layer layer(impl(s.impl_name(false)), layer_desc(s, K, K, INCQ_DTYPE_F16, false));
  ASSERT_EQ(layer.load(b.bundle()), INCQ_OK) << layer.message;
  Acts x(INCQ_DTYPE_F16, 1, K), y(INCQ_DTYPE_F16, 1, K);
  const double in[] = {3.0, 0.125, 0.375, 2.6, 2.5, -1.3, 1.0, -3.0};
  const double out[] = {3.0, 0.0, 0.5, 3.0, 2.0, -1.5, 1.0, -3.0};  // as in ActQuant.Mxfp4BlockByHand
  for (int i = 0; i < 8; ++i) x.set(0, i, in[i]);
  ASSERT_EQ(apply(layer, x, y), INCQ_OK);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y.get(0, i), out[i]) << i;  // 2.6 and -1.3 are F16-rounded first
  for (int i = 8; i < K; ++i) EXPECT_EQ(y.get(0, i), 0.0);
}

// ================================================================ bad input

namespace {

// A valid 2 x 64 layer of `s` in a bundle the test may spoil before loading.
BundleBuilder valid_bundle(const Scheme& s) {
  const int64_t K = 64, N = 2, G = K / s.group();
  BundleBuilder b;
  if (s.bits == 8) {
    b.add("weight", INCQ_DTYPE_F8_E4M3, {N, K}, std::vector<uint8_t>(N * K, 0x38));
  } else {
    b.add("weight_packed", INCQ_DTYPE_U8, {N, K / 2}, std::vector<uint8_t>(N * K / 2, 0x21));
  }
  if (s.family == INCQ_FAMILY_NV_FP) {
    b.add("weight_scale", INCQ_DTYPE_F8_E4M3, {N, G}, std::vector<uint8_t>(N * G, 0x38));
    b.add("weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{2.0f});
    b.add("input_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{4.0f});
  } else {
    b.add("weight_scale", INCQ_DTYPE_U8, {N, G}, std::vector<uint8_t>(N * G, 127));
  }
  return b;
}

std::string load_error(const Scheme& s, BundleBuilder& b) {
  Layer layer(impl(s.impl_name(false)), layer_desc(s, 64, 2, INCQ_DTYPE_F32, false));
  EXPECT_NE(layer.handle, nullptr) << layer.message;
  if (layer.handle == nullptr) return layer.message;
  const incq_status st = layer.load(b.bundle());
  EXPECT_EQ(st, INCQ_ERR_INVALID_ARGUMENT) << layer.message;
  return layer.message;
}

}  // namespace

TEST(BadWeights, ValidBundlesLoad) {
  REQUIRE_PLUGIN();
  for (const Scheme& s : {Scheme{INCQ_FAMILY_MX_FP, 4}, Scheme{INCQ_FAMILY_MX_FP, 8}, Scheme{INCQ_FAMILY_NV_FP, 4},
                          Scheme{INCQ_FAMILY_MX_INT, 4}}) {
    for (const Scheme& t : {s, s.with_acts()}) {
      BundleBuilder b = valid_bundle(t);
      Layer layer(impl(t.impl_name(false)), layer_desc(t, 64, 2, INCQ_DTYPE_F32, false));
      EXPECT_EQ(layer.load(b.bundle()), INCQ_OK) << t.impl_name(false) << ": " << layer.message;
    }
  }
}

TEST(BadWeights, NanE8M0ScaleNamesLayerTensorAndIndex) {
  REQUIRE_PLUGIN();
  const Scheme s{INCQ_FAMILY_MX_FP, 4};
  BundleBuilder b = valid_bundle(s);
  b.remove("weight_scale");
  b.add("weight_scale", INCQ_DTYPE_U8, {2, 2}, std::vector<uint8_t>{127, 127, 127, 255});
  EXPECT_EQ(load_error(s, b), "layer 'L': tensor 'weight_scale' [1, 1] is NaN (E8M0 255)");
}

TEST(BadWeights, NanE4M3ScaleAndElement) {
  REQUIRE_PLUGIN();
  const Scheme nv{INCQ_FAMILY_NV_FP, 4};
  BundleBuilder b = valid_bundle(nv);
  b.remove("weight_scale");
  b.add("weight_scale", INCQ_DTYPE_F8_E4M3, {2, 4}, std::vector<uint8_t>{0x38, 0x38, 0xFF, 0x38, 0, 0, 0, 0});
  EXPECT_EQ(load_error(nv, b), "layer 'L': tensor 'weight_scale' [0, 2] is NaN (E4M3 0x7F/0xFF)");
  const Scheme mx8{INCQ_FAMILY_MX_FP, 8};
  BundleBuilder c = valid_bundle(mx8);
  std::vector<uint8_t> w(2 * 64, 0x38);
  w[64 + 5] = 0x7F;
  c.remove("weight");
  c.add("weight", INCQ_DTYPE_F8_E4M3, {2, 64}, w);
  EXPECT_EQ(load_error(mx8, c), "layer 'L': tensor 'weight' [1, 5] is NaN (E4M3 0x7F/0xFF)");
}

TEST(BadWeights, WrongShapesDtypesAndMissingTensors) {
  REQUIRE_PLUGIN();
  const Scheme s{INCQ_FAMILY_MX_FP, 4};
  BundleBuilder b = valid_bundle(s);
  b.remove("weight_packed");
  b.add("weight_packed", INCQ_DTYPE_U8, {2, 64}, std::vector<uint8_t>(128, 0));
  EXPECT_EQ(load_error(s, b), "layer 'L': tensor 'weight_packed' has shape [2, 64], expected [2, 32] (MXFP4: "
                              "weight_packed U8 [N, K/2], weight_scale U8 E8M0 [N, K/32])");
  BundleBuilder c = valid_bundle(s);
  c.remove("weight_scale");
  c.add("weight_scale", INCQ_DTYPE_F8_E4M3, {2, 2}, std::vector<uint8_t>(4, 0x38));
  EXPECT_THAT(load_error(s, c), HasSubstr("tensor 'weight_scale' has dtype F8_E4M3, expected U8"));
  BundleBuilder d = valid_bundle(s);
  d.remove("weight_scale");
  EXPECT_THAT(load_error(s, d), HasSubstr("layer 'L': missing tensor 'weight_scale'"));
  BundleBuilder e = valid_bundle(s);
  e.add("qweight", INCQ_DTYPE_I32, {1}, std::vector<int32_t>{0});
  EXPECT_EQ(load_error(s, e), "layer 'L': unexpected tensor 'qweight' in the weight bundle");
}

TEST(BadWeights, NvGlobalScales) {
  REQUIRE_PLUGIN();
  const Scheme wo{INCQ_FAMILY_NV_FP, 4};
  BundleBuilder a = valid_bundle(wo);
  a.remove("weight_global_scale");
  EXPECT_THAT(load_error(wo, a), HasSubstr("missing tensor 'weight_global_scale'"));
  BundleBuilder b = valid_bundle(wo);
  b.remove("weight_global_scale");
  b.add("weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{0.0f});
  EXPECT_THAT(load_error(wo, b),
              HasSubstr("tensor 'weight_global_scale' is 0.000000 (a global scale must be a positive finite number)"));
  // Weight-only NVFP4 runs without input_global_scale; W4A4 cannot.
  BundleBuilder c = valid_bundle(wo);
  c.remove("input_global_scale");
  Layer ok(impl(wo.impl_name(false)), layer_desc(wo, 64, 2, INCQ_DTYPE_F32, false));
  EXPECT_EQ(ok.load(c.bundle()), INCQ_OK) << ok.message;
  const Scheme w4a4 = wo.with_acts();
  BundleBuilder d = valid_bundle(w4a4);
  d.remove("input_global_scale");
  EXPECT_THAT(load_error(w4a4, d), HasSubstr("missing tensor 'input_global_scale' (NV_FP activation quantization"));
}

TEST(BadArguments, ApplyChecksShapesAndDtypes) {
  REQUIRE_PLUGIN();
  const Scheme s{INCQ_FAMILY_MX_FP, 4};
  BundleBuilder b = valid_bundle(s);
  Layer layer(impl(s.impl_name(false)), layer_desc(s, 64, 2, INCQ_DTYPE_F32, false));
  ASSERT_EQ(layer.load(b.bundle()), INCQ_OK) << layer.message;
  Acts x(INCQ_DTYPE_F32, 3, 64), y(INCQ_DTYPE_F32, 3, 2), bad_x(INCQ_DTYPE_F32, 3, 63), y16(INCQ_DTYPE_F16, 3, 2);
  std::string msg;
  EXPECT_EQ(apply(layer, bad_x, y, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msg, "layer 'L': x has shape [3, 63], expected [M, 64]");
  EXPECT_EQ(apply(layer, x, y16, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msg, "layer 'L': y has dtype F16, expected F32");
  EXPECT_EQ(apply(layer, x, y, &msg), INCQ_OK) << msg;
}

// ================================================================ threads

namespace {

void thread_parallel_for(void*, int64_t n, incq_range_fn fn, void* ctx) {
  std::vector<std::thread> threads;
  for (int64_t c = 0; c < 3; ++c) {
    const int64_t b = n * c / 3, e = n * (c + 1) / 3;
    if (b < e) threads.emplace_back([=] { fn(ctx, b, e); });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

TEST(Threads, ConcurrentApplyOnOneLayerIsBitIdentical) {
  REQUIRE_PLUGIN();
  const int64_t K = 128, N = 72;
  std::mt19937 rng(7);
  std::vector<uint8_t> packed(N * K / 2), scales(N * K / 16);
  for (auto& v : packed) v = uint8_t(rng());
  for (auto& v : scales) v = uint8_t(0x20 + rng() % 0x30);
  BundleBuilder b;
  b.add("weight_packed", INCQ_DTYPE_U8, {N, K / 2}, packed);
  b.add("weight_scale", INCQ_DTYPE_F8_E4M3, {N, K / 16}, scales);
  b.add("weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{3.0f});
  b.add("input_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{5.0f});
  const Scheme s = Scheme{INCQ_FAMILY_NV_FP, 4}.with_acts();
  Layer layer(impl(s.impl_name(false)), layer_desc(s, K, N, INCQ_DTYPE_F16, false));
  ASSERT_EQ(layer.load(b.bundle()), INCQ_OK) << layer.message;
  Acts x(INCQ_DTYPE_F16, 5, K), serial(INCQ_DTYPE_F16, 5, N);
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < K; ++k) x.set(r, k, double(int(rng() % 1000) - 500) / 97.0);
  ASSERT_EQ(apply(layer, x, serial), INCQ_OK);
  std::vector<Acts> outs(4, Acts(INCQ_DTYPE_F16, 5, N));
  std::vector<incq_status> status(4, INCQ_ERR_INTERNAL);
  incq_exec pool{sizeof(incq_exec), 3, thread_parallel_for, nullptr};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { status[i] = apply(layer, x, outs[i], nullptr, i % 2 ? &pool : nullptr); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(status[i], INCQ_OK);
    EXPECT_EQ(outs[i].bytes, serial.bytes) << "thread " << i;
  }
}

// ================================================================ MoE

namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }

// MXFP4 expert projection [K -> N] with random codes and E8M0 scales near 1, and its test-side truth.
struct TestMx4 {
  int64_t K, N;
  std::vector<uint8_t> codes, scales;
  TestMx4(int64_t k, int64_t n, std::mt19937& rng) : K(k), N(n), codes(n * k), scales(n * k / 32) {
    for (auto& c : codes) c = uint8_t(rng() % 16);
    for (auto& s : scales) s = uint8_t(123 + rng() % 5);
  }
  double w(int64_t n, int64_t k) const { return kE2M1[codes[n * K + k]] * test_e8m0(scales[n * (K / 32) + k / 32]); }
  std::vector<double> apply(const std::vector<double>& x) const {
    std::vector<double> y(N, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) y[n] += x[k] * w(n, k);
    return y;
  }
  void add_to(BundleBuilder& b, const std::string& prefix) const {
    b.add(prefix + "weight_packed", INCQ_DTYPE_U8, {N, K / 2}, pack_nibbles(codes, N, K));
    b.add(prefix + "weight_scale", INCQ_DTYPE_U8, {N, K / 32}, scales);
  }
};

}  // namespace

// Token 0 picks expert 1 twice (both routes add), expert 2 is never picked, token 3 has weight 0.
TEST(Moe, RepeatedAndEmptyExpertsAgainstTheTestOracle) {
  REQUIRE_PLUGIN();
  const int64_t E = 3, H = 32, I = 64, T = 4;
  const int32_t top_k = 2;
  std::mt19937 rng(11);
  std::vector<TestMx4> gate, up, down;
  BundleBuilder b;
  for (int64_t e = 0; e < E; ++e) {
    gate.emplace_back(H, I, rng);
    up.emplace_back(H, I, rng);
    down.emplace_back(I, H, rng);
    const std::string p = std::to_string(e) + ".";
    gate.back().add_to(b, p + "gate_proj.");
    up.back().add_to(b, p + "up_proj.");
    down.back().add_to(b, p + "down_proj.");
  }
  const Scheme s{INCQ_FAMILY_MX_FP, 4};
  incq_layer_desc d = layer_desc(s, 0, 0, INCQ_DTYPE_F32, false);
  d.module_kind = INCQ_MODULE_MOE;
  d.num_experts = E;
  d.hidden_size = H;
  d.intermediate_size = I;
  d.top_k = top_k;
  Layer layer(impl(s.impl_name(true)), d);
  ASSERT_EQ(layer.load(b.bundle()), INCQ_OK) << layer.message;

  Acts x(INCQ_DTYPE_F32, T, H), out(INCQ_DTYPE_F32, T, H);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < H; ++k) x.set(t, k, double(int(rng() % 200) - 100) / 64.0);
  const std::vector<int32_t> ids = {1, 1, 0, 1, 1, 0, 0, 1};
  const std::vector<float> wts = {0.75f, 0.25f, 0.5f, 0.5f, 1.0f, 0.0f, 0.0f, 0.0f};
  incq_tensor xt = x.view(), ot = out.view();
  incq_tensor it = make_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
  incq_tensor wt = make_tensor(wts.data(), INCQ_DTYPE_F32, {T, top_k});
  incq_error err{sizeof(incq_error), 0, {}};
  incq_exec serial{sizeof(incq_exec), 1, nullptr, nullptr};
  ASSERT_EQ(layer.d->apply_moe(layer.handle, &xt, &it, &wt, &ot, &serial, &err), INCQ_OK) << err.message;

  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> xs(H), ref(H, 0.0);
    for (int64_t k = 0; k < H; ++k) xs[k] = x.get(t, k);
    for (int j = 0; j < top_k; ++j) {
      const int e = ids[t * top_k + j];
      const auto g = gate[e].apply(xs), u = up[e].apply(xs);
      std::vector<double> h(I);
      for (int64_t i = 0; i < I; ++i) h[i] = silu(g[i]) * u[i];
      const auto y = down[e].apply(h);
      for (int64_t n = 0; n < H; ++n) ref[n] += wts[t * top_k + j] * y[n];
    }
    for (int64_t n = 0; n < H; ++n) {
      // One F32 rounding of a double result (exp() may differ by an ulp of double: negligible).
      EXPECT_NEAR(out.get(t, n), ref[n], std::ldexp(std::fabs(ref[n]), -24) + 1e-12) << t << "," << n;
    }
  }
  for (int64_t n = 0; n < H; ++n) EXPECT_EQ(out.get(3, n), 0.0);
}

TEST(Moe, NvW4A4NeedsEachExpertsInputGlobalScale) {
  REQUIRE_PLUGIN();
  const Scheme s = Scheme{INCQ_FAMILY_NV_FP, 4}.with_acts();
  incq_layer_desc d = layer_desc(s, 0, 0, INCQ_DTYPE_F32, false);
  d.module_kind = INCQ_MODULE_MOE;
  d.num_experts = 1;
  d.hidden_size = 32;
  d.intermediate_size = 32;
  d.top_k = 1;
  BundleBuilder b;
  for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
    const std::string p = std::string("0.") + proj + ".";
    b.add(p + "weight_packed", INCQ_DTYPE_U8, {32, 16}, std::vector<uint8_t>(512, 0x22));
    b.add(p + "weight_scale", INCQ_DTYPE_F8_E4M3, {32, 2}, std::vector<uint8_t>(64, 0x38));
    b.add(p + "weight_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{1.0f});
    if (std::string(proj) != "up_proj") b.add(p + "input_global_scale", INCQ_DTYPE_F32, {1}, std::vector<float>{1.0f});
  }
  Layer layer(impl(s.impl_name(true)), d);
  EXPECT_EQ(layer.load(b.bundle()), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(layer.message, HasSubstr("missing tensor '0.up_proj.input_global_scale'"));
}

// ================================================================ AutoRound's fixtures

namespace {

namespace st = incq::host::st;

const char* const kFixtureLayers[] = {"model.layers.0.mlp.down_proj",     "model.layers.0.mlp.gate_proj",
                                      "model.layers.0.mlp.up_proj",       "model.layers.0.self_attn.k_proj",
                                      "model.layers.0.self_attn.o_proj",  "model.layers.0.self_attn.q_proj",
                                      "model.layers.0.self_attn.v_proj"};

// ar_act_family: the activation rule AutoRound's inference module really applies. For mxint4 that
// is MX_FP (E2M1), not the configured MX_INT: see mx_act_quant.hpp and docs/formats.md §3, §5.
struct FixtureCase {
  const char* dir;
  Scheme scheme;
  int32_t ar_act_family;
};
const FixtureCase kFixtureCases[] = {{"mxfp4", {INCQ_FAMILY_MX_FP, 4}, INCQ_FAMILY_MX_FP},
                                     {"mxfp8", {INCQ_FAMILY_MX_FP, 8}, INCQ_FAMILY_MX_FP},
                                     {"nvfp4", {INCQ_FAMILY_NV_FP, 4}, INCQ_FAMILY_NV_FP},
                                     {"mxint4", {INCQ_FAMILY_MX_INT, 4}, INCQ_FAMILY_MX_FP}};

std::string fixture_dir(const char* c) { return std::string(INCQ_TEST_SOURCE_DIR) + "/tests/fixtures/autoround/" + c; }

double read_f(const st::TensorView& t, int64_t i) {
  if (t.dtype == INCQ_DTYPE_F32) {
    float f;
    std::memcpy(&f, t.data + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  return half_to_float(h);
}

// One checkpoint layer: its bundle (views into the mapped file) and the test's own decode of it.
struct FixtureLayer {
  Scheme scheme;
  int64_t K = 0, N = 0;
  BundleBuilder bundle;
  bool has_bias = false;
  std::vector<double> w;  // [N, K], exact, from the test decoders
  std::vector<double> bias;

  // AutoRound's loader runs NVFP4 with its global scales rounded to fp16: from_pretrained(dtype=
  // float16) casts the modules' weight_global_scale / input_global_scale buffers to fp16 before the
  // checkpoint's fp32 values are copied in (NVFP4QuantLinear._convert_global_scale_to_float32 only
  // converts the incoming state dict). Its outputs (y_fp16 and y_wdq_fp32 alike) are reproduced
  // exactly only with 13559.17 -> 13560 and 722.82 -> 723 (q_proj); with the checkpoint's fp32
  // values they differ by up to 0.045 (fp16 path). The plugin keeps the checkpoint's fp32 values
  // (the format's definition); the fixture comparison feeds it the values AutoRound actually used.
  FixtureLayer(const st::SafetensorsFile& f, const std::string& layer, const Scheme& s) : scheme(s) {
    const std::string p = layer + ".";
    std::map<std::string, const st::TensorView*> t;
    for (const st::TensorView& v : f.tensors())
      if (v.name.rfind(p, 0) == 0) {
        const std::string short_name = v.name.substr(p.size());
        t[short_name] = &v;
        if (short_name == "weight_global_scale" || short_name == "input_global_scale") {
          bundle.add(short_name, INCQ_DTYPE_F32, {1}, std::vector<float>{float(f16(read_f(v, 0)))});
        } else {
          bundle.add_view(short_name, v.as_incq_tensor());
        }
      }
    const st::TensorView& scale = *t.at("weight_scale");
    N = scale.shape[0];
    const int64_t G = scale.shape[1];
    K = G * s.group();
    w.resize(N * K);
    const double global = s.family == INCQ_FAMILY_NV_FP ? f16(read_f(*t.at("weight_global_scale"), 0)) : 1.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const uint8_t sb = scale.data[n * G + k / s.group()];
        const double sc = s.family == INCQ_FAMILY_NV_FP ? test_e4m3(sb) : test_e8m0(sb);
        double e;
        if (s.bits == 8) {
          e = test_e4m3(t.at("weight")->data[n * K + k]);
        } else {
          const uint8_t byte = t.at("weight_packed")->data[n * K / 2 + k / 2];
          const int nib = k % 2 ? byte >> 4 : byte & 15;
          e = s.family == INCQ_FAMILY_MX_INT ? kMxInt4[nib] : kE2M1[nib];
        }
        w[n * K + k] = e * sc / global;
      }
    if (t.count("bias")) {
      has_bias = true;
      for (int64_t n = 0; n < N; ++n) bias.push_back(read_f(*t.at("bias"), n));
    } else {
      bias.assign(N, 0.0);
    }
  }
};

struct Comparison {
  double max_err = 0, max_ratio = 0;  // ratio: error / bound
  int exact = 0, within = 0, total = 0;
};

// Weight-only, F32, against AutoRound's fp32 weight dequantization + fp32 matmul (y_wdq_fp32).
// Bound per output: (K + 6 (+3 for NVFP4)) * 2^-24 * (sum_k |x_k w_k| + |b|). Why: AutoRound's fp32
// matmul of K products and its bias add cost gamma_{K+1} in any summation order (Higham §3.1), our
// F32 output rounding 2^-24 |y|; NVFP4's fp32 dequantization fl(fl(fp4 * fl(1/gs)) * s) adds up to
// 3 roundings per weight. MX dequantization is exact in fp32 (powers of two times <= 4-bit values).
Comparison compare_weight_only(const FixtureLayer& L, const st::TensorView& xv, const st::TensorView& yv) {
  Comparison c;
  Scheme s = L.scheme;
  FixtureLayer& mut = const_cast<FixtureLayer&>(L);
  Layer layer(impl(s.impl_name(false)), layer_desc(s, L.K, L.N, INCQ_DTYPE_F32, L.has_bias));
  EXPECT_EQ(layer.load(mut.bundle.bundle()), INCQ_OK) << layer.message;
  const int64_t M = xv.shape[0];
  Acts x(INCQ_DTYPE_F32, M, L.K), y(INCQ_DTYPE_F32, M, L.N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < L.K; ++k) x.set(m, k, read_f(xv, m * L.K + k));
  EXPECT_EQ(apply(layer, x, y), INCQ_OK);
  const double factor = (L.K + 6 + (s.family == INCQ_FAMILY_NV_FP ? 3 : 0)) * std::ldexp(1.0, -24);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < L.N; ++n) {
      double mag = std::fabs(L.bias[n]);
      for (int64_t k = 0; k < L.K; ++k) mag += std::fabs(x.get(m, k) * L.w[n * L.K + k]);
      const double ref = read_f(yv, m * L.N + n), err = std::fabs(y.get(m, n) - ref), bound = factor * mag;
      EXPECT_LE(err, bound) << "row " << m << " col " << n << ": " << y.get(m, n) << " vs " << ref;
      c.max_err = std::max(c.max_err, err);
      c.max_ratio = std::max(c.max_ratio, err / bound);
      c.exact += err == 0;
      ++c.total;
    }
  return c;
}

// With activation quantization, F16 in and out, against AutoRound's fp16 forward (y_fp16).
// Bound per output: sum_k 2|x_k| (2 * 2^-11 |w_k| + 2^-25 + 3 * 2^-24 |w_k|) + (K + 2) 2^-24 (sum_k
// 2|x_k||w_k| + |b|) + 1.5 ulp16(max(|y|, |y_ref|)). Why: the codes and scales of the quantized
// activations are the same by construction (same rule, exact arithmetic or AutoRound's own fp32
// steps) and |x'| <= 2|x| (E2M1 rounding at most doubles a value: 0.26 -> 0.5); AutoRound then rounds
// x' to fp16 (2^-11 relative; we keep x' exact), casts the dequantized weights to fp16 (2^-11
// relative, 2^-25 absolute for subnormals; NVFP4's fp32 dequantization before that adds 3 * 2^-24),
// multiplies with fp32 accumulation (gamma_{K+1}) and rounds y to fp16 (half an ulp, plus half an ulp
// for a possible rounding before the bias add); we round once (half an ulp).
Comparison compare_with_acts(const FixtureLayer& L, const st::TensorView& xv, const st::TensorView& yv,
                             int32_t act_family, bool expect_within) {
  Comparison c;
  Scheme s = L.scheme.with_acts();
  s.act_family = act_family;
  const incq_impl_desc* d = impl(s.impl_name(false));
  FixtureLayer& mut = const_cast<FixtureLayer&>(L);
  Layer layer(d, layer_desc(s, L.K, L.N, INCQ_DTYPE_F16, L.has_bias));
  EXPECT_EQ(layer.load(mut.bundle.bundle()), INCQ_OK) << layer.message;
  const int64_t M = xv.shape[0];
  Acts x(INCQ_DTYPE_F16, M, L.K), y(INCQ_DTYPE_F16, M, L.N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < L.K; ++k) x.set(m, k, read_f(xv, m * L.K + k));
  EXPECT_EQ(apply(layer, x, y), INCQ_OK);
  const double u16 = std::ldexp(1.0, -11), u32 = std::ldexp(1.0, -24);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < L.N; ++n) {
      double cast = 0, mag = std::fabs(L.bias[n]);
      for (int64_t k = 0; k < L.K; ++k) {
        const double ax = 2 * std::fabs(x.get(m, k)), aw = std::fabs(L.w[n * L.K + k]);
        // AR rounds x' to F16 (u16 |x'|) and w to F16 (u16 |w| + 2^-25, after NVFP4's 3 fp32 roundings).
        cast += ax * (2 * u16 * aw + std::ldexp(1.0, -25) + 3 * u32 * aw);
        mag += ax * aw;
      }
      const double ref = read_f(yv, m * L.N + n), got = y.get(m, n);
      const double big = std::max(std::fabs(ref), std::fabs(got));
      const double ulp = big < std::ldexp(1.0, -14) ? std::ldexp(1.0, -24) : std::ldexp(1.0, std::ilogb(big) - 10);
      const double bound = cast + (L.K + 2) * u32 * mag + 1.5 * ulp, err = std::fabs(got - ref);
      if (expect_within) {
        EXPECT_LE(err, bound) << "row " << m << " col " << n << ": " << got << " vs " << ref;
      }
      c.max_err = std::max(c.max_err, err);
      c.max_ratio = std::max(c.max_ratio, err / bound);
      c.exact += err == 0;
      c.within += err <= bound;
      ++c.total;
    }
  return c;
}

class Fixture : public ::testing::TestWithParam<FixtureCase> {};

}  // namespace

TEST_P(Fixture, WeightOnlyMatchesAutoRoundsFp32Dequantization) {
  REQUIRE_PLUGIN();
  const FixtureCase& fc = GetParam();
  auto ckpt = st::SafetensorsFile::open(fixture_dir(fc.dir) + "/checkpoint/model.safetensors");
  auto ref = st::SafetensorsFile::open(fixture_dir(fc.dir) + "/reference.safetensors");
  Comparison all;
  for (const char* name : kFixtureLayers) {
    SCOPED_TRACE(name);
    FixtureLayer L(*ckpt, name, fc.scheme);
    const st::TensorView* x = ref->find(std::string(name) + ".x");
    const st::TensorView* y = ref->find(std::string(name) + ".y_wdq_fp32");
    ASSERT_TRUE(x != nullptr && y != nullptr);
    const Comparison c = compare_weight_only(L, *x, *y);
    all.max_err = std::max(all.max_err, c.max_err);
    all.max_ratio = std::max(all.max_ratio, c.max_ratio);
    all.exact += c.exact;
    all.total += c.total;
  }
  std::printf("[ %s weight-only vs y_wdq_fp32 ] max |err| %.3g, max err/bound %.3g, %d of %d outputs equal\n",
              fc.dir, all.max_err, all.max_ratio, all.exact, all.total);
}

TEST_P(Fixture, WithActivationQuantizationMatchesAutoRoundsFp16Forward) {
  REQUIRE_PLUGIN();
  const FixtureCase& fc = GetParam();
  auto ckpt = st::SafetensorsFile::open(fixture_dir(fc.dir) + "/checkpoint/model.safetensors");
  auto ref = st::SafetensorsFile::open(fixture_dir(fc.dir) + "/reference.safetensors");
  Comparison all;
  for (const char* name : kFixtureLayers) {
    SCOPED_TRACE(name);
    FixtureLayer L(*ckpt, name, fc.scheme);
    const st::TensorView* x = ref->find(std::string(name) + ".x");
    const st::TensorView* y = ref->find(std::string(name) + ".y_fp16");
    ASSERT_TRUE(x != nullptr && y != nullptr);
    const Comparison c = compare_with_acts(L, *x, *y, fc.ar_act_family, true);
    all.max_err = std::max(all.max_err, c.max_err);
    all.max_ratio = std::max(all.max_ratio, c.max_ratio);
    all.exact += c.exact;
    all.total += c.total;
  }
  std::printf("[ %s W%dA%d vs y_fp16 ] max |err| %.3g, max err/bound %.3g, %d of %d outputs equal\n", fc.dir,
              fc.scheme.bits, fc.scheme.bits, all.max_err, all.max_ratio, all.exact, all.total);
}

// The configured MX_INT rule (E0M4 grid) is not what produced mxint4's y_fp16: most outputs miss
// the bound above. This pins the AutoRound quirk the fixture comparison relies on.
TEST(FixtureMxint4, ConfiguredMxIntActivationRuleIsNotAutoRoundsModule) {
  REQUIRE_PLUGIN();
  const std::string dir = fixture_dir("mxint4");
  auto ckpt = st::SafetensorsFile::open(dir + "/checkpoint/model.safetensors");
  auto ref = st::SafetensorsFile::open(dir + "/reference.safetensors");
  Comparison all;
  for (const char* name : kFixtureLayers) {
    FixtureLayer L(*ckpt, name, {INCQ_FAMILY_MX_INT, 4});
    const Comparison c = compare_with_acts(L, *ref->find(std::string(name) + ".x"),
                                           *ref->find(std::string(name) + ".y_fp16"), INCQ_FAMILY_MX_INT, false);
    all.within += c.within;
    all.total += c.total;
  }
  std::printf("[ mxint4 with the MX_INT (E0M4) activation rule ] %d of %d outputs within the bound\n", all.within,
              all.total);
  EXPECT_LT(all.within, all.total / 2);
}

INSTANTIATE_TEST_SUITE_P(AutoRound, Fixture, ::testing::ValuesIn(kFixtureCases),
                         [](const ::testing::TestParamInfo<FixtureCase>& i) { return std::string(i.param.dir); });
