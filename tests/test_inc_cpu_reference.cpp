// Tests of the inc_cpu reference path: unpacking against hand-derived words, small layers computed
// by hand, bad input with exact messages, can_implement reasons, MoE routing corner cases,
// thread safety. The glue is exercised through the real plugin (dlopen), like a host would.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"
#include "int_wo_matrix.hpp"
#include "unpack_awq.hpp"
#include "unpack_gptq.hpp"

using namespace incq::inc_cpu;
using incq::float_to_half;
using incq::half_to_float;
using ::testing::HasSubstr;

namespace {

// ---------------------------------------------------------------- test-side packing
// Written bit by bit from DESIGN §4, independently of the plugin's unpackers.

std::vector<uint32_t> pack_bit_stream(const std::vector<uint32_t>& codes, int bits) {
  std::vector<uint32_t> words(codes.size() * bits / 32, 0u);
  for (size_t i = 0; i < codes.size(); ++i) {
    for (int b = 0; b < bits; ++b) {
      if ((codes[i] >> b) & 1u) {
        const size_t p = i * bits + b;
        words[p / 32] |= 1u << (p % 32);
      }
    }
  }
  return words;
}

constexpr int kAwqColumnOfSlot[8] = {0, 2, 4, 6, 1, 3, 5, 7};

uint32_t pack_awq_word(const uint32_t* eight_columns) {
  uint32_t w = 0;
  for (int slot = 0; slot < 8; ++slot) w |= (eight_columns[kAwqColumnOfSlot[slot]] & 0xFu) << (4 * slot);
  return w;
}

// ---------------------------------------------------------------- bundles

incq_tensor make_tensor(void* data, int32_t dtype, std::vector<int64_t> shape) {
  incq_tensor t{};
  t.struct_size = sizeof t;
  t.data = data;
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

// Owns tensor names and bytes; hands out a bundle that points into them.
class BundleBuilder {
 public:
  template <typename T>
  void add(const std::string& name, int32_t dtype, std::vector<int64_t> shape, const std::vector<T>& data) {
    names_.push_back(name);
    bytes_.emplace_back(data.size() * sizeof(T));
    std::memcpy(bytes_.back().data(), data.data(), bytes_.back().size());
    entries_.push_back({name, make_tensor(bytes_.back().data(), dtype, shape)});
  }
  incq_tensor& tensor(const std::string& name) {
    for (auto& e : entries_) if (e.first == name) return e.second;
    throw std::runtime_error("no tensor " + name);
  }
  void remove(const std::string& name) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == name) { entries_.erase(it); return; }
    }
    throw std::runtime_error("no tensor " + name);
  }
  uint64_t total_bytes() const {
    uint64_t n = 0;
    for (const auto& e : entries_) n += incq::numel(e.second) * incq::dtype_size(e.second.dtype);
    return n;
  }
  const incq_weight_bundle* bundle(int32_t packing) {
    named_.clear();
    for (auto& e : entries_) named_.push_back({names_store(e.first), e.second});
    bundle_ = incq_weight_bundle{sizeof(incq_weight_bundle), packing, named_.size(), named_.data()};
    return &bundle_;
  }

 private:
  const char* names_store(const std::string& s) {
    for (auto& n : names_) if (n == s) return n.c_str();
    names_.push_back(s);
    return names_.back().c_str();
  }
  std::deque<std::string> names_;
  std::deque<std::vector<uint8_t>> bytes_;
  std::vector<std::pair<std::string, incq_tensor>> entries_;
  std::vector<incq_named_tensor> named_;
  incq_weight_bundle bundle_{};
};

// A quantized matrix in plain integers: the test's own truth, packed by the test's packers.
struct QuantMatrix {
  int64_t K = 0, N = 0;
  int bits = 4;
  int32_t packing = INCQ_PACKING_GPTQ_V2;
  int64_t group_size = -1;
  std::vector<uint32_t> q;       // [K][N] codes
  std::vector<uint32_t> zero;    // [G][N] zero points (the zero itself)
  std::vector<float> scale;      // [G][N], each exactly an fp16 value
  std::vector<int32_t> g_idx;    // empty or [K]
  std::vector<float> bias;       // empty or [N]

  int64_t G() const { return group_size == -1 ? 1 : (K + group_size - 1) / group_size; }
  int64_t group_of(int64_t k) const {
    return g_idx.empty() ? (group_size == -1 ? 0 : k / group_size) : g_idx[k];
  }
  double w(int64_t k, int64_t n) const {
    const int64_t g = group_of(k);
    return double(scale[g * N + n]) * (double(q[k * N + n]) - double(zero[g * N + n]));
  }

  void add_to(BundleBuilder& b, const std::string& prefix) const {
    std::vector<int32_t> qweight, qzeros;
    const uint32_t stored_offset = packing == INCQ_PACKING_GPTQ_V1 ? 1u : 0u;  // v1 stores zero-1
    if (packing == INCQ_PACKING_AWQ) {
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < N / 8; ++j) qweight.push_back(int32_t(pack_awq_word(&q[k * N + 8 * j])));
      for (int64_t g = 0; g < G(); ++g)
        for (int64_t j = 0; j < N / 8; ++j) qzeros.push_back(int32_t(pack_awq_word(&zero[g * N + 8 * j])));
      b.add(prefix + "qweight", INCQ_DTYPE_I32, {K, N / 8}, qweight);
      b.add(prefix + "qzeros", INCQ_DTYPE_I32, {G(), N / 8}, qzeros);
    } else {
      const int64_t rows = K * bits / 32;
      qweight.assign(rows * N, 0);
      for (int64_t n = 0; n < N; ++n) {
        std::vector<uint32_t> column(K);
        for (int64_t k = 0; k < K; ++k) column[k] = q[k * N + n];
        const auto words = pack_bit_stream(column, bits);
        for (int64_t r = 0; r < rows; ++r) qweight[r * N + n] = int32_t(words[r]);
      }
      for (int64_t g = 0; g < G(); ++g) {
        std::vector<uint32_t> row(N);
        const uint32_t mask = (1u << bits) - 1u;
        for (int64_t n = 0; n < N; ++n) row[n] = (zero[g * N + n] - stored_offset) & mask;
        for (uint32_t wv : pack_bit_stream(row, bits)) qzeros.push_back(int32_t(wv));
      }
      b.add(prefix + "qweight", INCQ_DTYPE_I32, {rows, N}, qweight);
      b.add(prefix + "qzeros", INCQ_DTYPE_I32, {G(), N * bits / 32}, qzeros);
    }
    std::vector<uint16_t> scales;
    for (float s : scale) scales.push_back(float_to_half(s));
    b.add(prefix + "scales", INCQ_DTYPE_F16, {G(), N}, scales);
    if (!g_idx.empty()) b.add(prefix + "g_idx", INCQ_DTYPE_I32, {K}, g_idx);
    if (!bias.empty()) b.add(prefix + "bias", INCQ_DTYPE_F32, {N}, bias);
  }
};

// Random codes, zeros and fp16-exact scales (negative ones included).
QuantMatrix random_matrix(int64_t K, int64_t N, int bits, int32_t packing, int64_t group_size,
                          bool sym, bool act_order, bool with_bias, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantMatrix m;
  m.K = K; m.N = N; m.bits = bits; m.packing = packing; m.group_size = group_size;
  const uint32_t levels = 1u << bits;
  for (int64_t i = 0; i < K * N; ++i) m.q.push_back(rng() % levels);
  for (int64_t i = 0; i < m.G() * N; ++i) {
    // v1 cannot store a zero of 0 (it stores zero-1), so asym v1 zeros start at 1.
    const uint32_t lo = packing == INCQ_PACKING_GPTQ_V1 ? 1u : 0u;
    m.zero.push_back(sym ? levels / 2 : lo + rng() % (levels - lo));
    const float s = half_to_float(float_to_half(float(int(rng() % 2001) - 1000) / 4096.0f));
    m.scale.push_back(s);
  }
  if (act_order) {
    for (int64_t k = 0; k < K; ++k) m.g_idx.push_back(int32_t((k * 7 + 3) % K / (group_size == -1 ? K : group_size)));
  }
  if (with_bias) for (int64_t n = 0; n < N; ++n) m.bias.push_back(float(int(rng() % 200) - 100) / 64.0f);
  return m;
}

// ---------------------------------------------------------------- plugin loading

struct FakeHost {
  std::vector<const incq_impl_desc*> impls;
  static incq_status register_impl(void* ctx, const incq_impl_desc* desc, incq_error*) {
    static_cast<FakeHost*>(ctx)->impls.push_back(desc);
    return INCQ_OK;
  }
  incq_host_api table() {
    incq_host_api h{};
    h.struct_size = sizeof h;
    h.abi_major = INCQ_ABI_VERSION_MAJOR;
    h.abi_minor = INCQ_ABI_VERSION_MINOR;
    h.host_ctx = this;
    h.register_impl = &FakeHost::register_impl;
    return h;
  }
};

const char* kPluginPath = INCQ_TEST_PLUGIN_DIR "/libincq_inc_cpu.so";

const incq_plugin_api* plugin_api() {
  static const incq_plugin_api* api = [] {
    void* lib = dlopen(kPluginPath, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return static_cast<const incq_plugin_api*>(nullptr);
    auto entry = reinterpret_cast<incq_plugin_get_api_fn>(dlsym(lib, INCQ_PLUGIN_ENTRY_SYMBOL));
    return entry != nullptr ? entry() : nullptr;
  }();
  return api;
}

// The plugin initialized once against a fake host; the registered descriptors by name.
struct Impls {
  FakeHost host;
  incq_host_api table{};
  const incq_impl_desc* linear = nullptr;
  const incq_impl_desc* moe = nullptr;
};

const Impls& impls() {
  static Impls* s = [] {
    auto* out = new Impls;
    out->table = out->host.table();
    const incq_plugin_api* api = plugin_api();
    if (api == nullptr) return out;
    incq_error err{sizeof(incq_error), 0, {}};
    if (api->initialize(&out->table, nullptr, 0, &err) != INCQ_OK) return out;
    for (const incq_impl_desc* d : out->host.impls) {
      if (std::string(d->name) == "inc_cpu.ref.int_wo_linear") out->linear = d;
      if (std::string(d->name) == "inc_cpu.ref.int_wo_moe") out->moe = d;
    }
    return out;
  }();
  return *s;
}

incq_device cpu_device() {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_CPU;
  return d;
}

incq_layer_desc linear_desc(const QuantMatrix& m, bool sym, int32_t act_dtype) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = "model.layers.0.mlp.down_proj";
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = m.bits;
  d.scheme.group_size = int32_t(m.group_size);
  d.scheme.sym = sym ? 1 : 0;
  d.scheme.packing = m.packing;
  d.scheme.act_bits = 16;
  d.scheme.has_g_idx = m.g_idx.empty() ? 0 : 1;
  d.act_dtype = act_dtype;
  d.has_bias = m.bias.empty() ? 0 : 1;
  d.in_features = m.K;
  d.out_features = m.N;
  return d;
}

// A created layer, destroyed at scope end.
struct Layer {
  const incq_impl_desc* impl = nullptr;
  incq_layer* handle = nullptr;
  Layer(const incq_impl_desc* i, const incq_layer_desc& desc) : impl(i) {
    incq_device dev = cpu_device();
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->create(impl->impl_ctx, &desc, &dev, nullptr, 0, &handle, &err);
    message = err.message;
  }
  ~Layer() { if (handle != nullptr) impl->destroy(handle); }
  // set_weights + process_weights; returns the first failing status, message in `message`.
  incq_status load(const incq_weight_bundle* bundle) {
    incq_error err{sizeof(incq_error), 0, {}};
    status = impl->set_weights(handle, bundle, &err);
    if (status == INCQ_OK) status = impl->process_weights(handle, &err);
    message = err.message;
    return status;
  }
  incq_status status = INCQ_OK;
  std::string message;
};

// ---------------------------------------------------------------- activations

struct Activations {
  int32_t dtype;
  int64_t rows, cols, stride;
  std::vector<uint8_t> bytes;
  Activations(int32_t dt, int64_t r, int64_t c, int64_t s)
      : dtype(dt), rows(r), cols(c), stride(s), bytes(size_t(std::max<int64_t>(r, 1) * s) * incq::dtype_size(dt), 0) {}
  void set(int64_t r, int64_t c, double v) {
    uint8_t* p = bytes.data() + (r * stride + c) * incq::dtype_size(dtype);
    if (dtype == INCQ_DTYPE_F32) { float f = float(v); std::memcpy(p, &f, 4); }
    else if (dtype == INCQ_DTYPE_BF16) { uint16_t h = incq::float_to_bf16(float(v)); std::memcpy(p, &h, 2); }
    else { uint16_t h = float_to_half(float(v)); std::memcpy(p, &h, 2); }
  }
  double get(int64_t r, int64_t c) const {
    const uint8_t* p = bytes.data() + (r * stride + c) * incq::dtype_size(dtype);
    uint16_t h; float f;
    if (dtype == INCQ_DTYPE_F32) { std::memcpy(&f, p, 4); return f; }
    std::memcpy(&h, p, 2);
    return dtype == INCQ_DTYPE_BF16 ? incq::bf16_to_float(h) : half_to_float(h);
  }
  incq_tensor tensor() {
    incq_tensor t = make_tensor(bytes.data(), dtype, {rows, cols});
    t.strides[0] = stride;
    return t;
  }
};

incq_status apply(const Layer& layer, Activations& x, Activations& y, std::string* message = nullptr,
                  const incq_exec* exec = nullptr) {
  incq_tensor xt = x.tensor(), yt = y.tensor();
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = layer.impl->apply_linear(layer.handle, &xt, &yt, exec, &err);
  if (message) *message = err.message;
  return s;
}

#define REQUIRE_PLUGIN()                                                          \
  ASSERT_NE(plugin_api(), nullptr) << "cannot load " << kPluginPath << ": " << dlerror(); \
  ASSERT_NE(impls().linear, nullptr);                                             \
  ASSERT_NE(impls().moe, nullptr)

}  // namespace

// ================================================================ unpacking (core library)

TEST(Unpack, Gptq4BitV1SymZerosWord0x77777777IsZero8) {
  IntWoMatrix m;
  m.N = 8;
  m.format = IntWoFormat{4, INCQ_PACKING_GPTQ_V1, -1, true};
  m.qzeros = {0x77777777};
  for (int n = 0; n < 8; ++n) EXPECT_EQ(m.zero_at(0, n), 8) << "column " << n;
}

TEST(Unpack, Gptq4BitV2SymZerosWord0x88888888IsZero8) {
  IntWoMatrix m;
  m.N = 8;
  m.format = IntWoFormat{4, INCQ_PACKING_GPTQ_V2, -1, true};
  m.qzeros = {int32_t(0x88888888u)};
  for (int n = 0; n < 8; ++n) EXPECT_EQ(m.zero_at(0, n), 8) << "column " << n;
}

TEST(Unpack, Gptq2BitV1ZerosWord0x55555555IsZero2) {
  IntWoMatrix m;
  m.N = 16;
  m.format = IntWoFormat{2, INCQ_PACKING_GPTQ_V1, -1, true};
  m.qzeros = {0x55555555};
  for (int n = 0; n < 16; ++n) EXPECT_EQ(m.zero_at(0, n), 2) << "column " << n;
}

TEST(Unpack, Gptq8BitV1ZerosWord0x7F7F7F7FIsZero128) {
  IntWoMatrix m;
  m.N = 4;
  m.format = IntWoFormat{8, INCQ_PACKING_GPTQ_V1, -1, true};
  m.qzeros = {0x7F7F7F7F};
  for (int n = 0; n < 4; ++n) EXPECT_EQ(m.zero_at(0, n), 128) << "column " << n;
}

TEST(Unpack, Gptq4BitCodesAreLowNibbleFirst) {
  const int32_t word = 0x76543210;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(unpack_gptq_code(&word, 1, 4, i), uint32_t(i));
}

TEST(Unpack, Gptq2BitAnd8BitCodes) {
  const int32_t w2 = int32_t(0xE4E4E4E4u);  // 0b11100100: codes 0,1,2,3 repeating
  for (int i = 0; i < 16; ++i) EXPECT_EQ(unpack_gptq_code(&w2, 1, 2, i), uint32_t(i % 4));
  const int32_t w8 = int32_t(0xFF80017Fu);
  EXPECT_EQ(unpack_gptq_code(&w8, 1, 8, 0), 0x7Fu);
  EXPECT_EQ(unpack_gptq_code(&w8, 1, 8, 1), 0x01u);
  EXPECT_EQ(unpack_gptq_code(&w8, 1, 8, 2), 0x80u);
  EXPECT_EQ(unpack_gptq_code(&w8, 1, 8, 3), 0xFFu);
}

// Hand-built 3-bit stream: code 0 = 7 (word 0 bits 0-2), code 10 = 5 = 0b101 (low bits 01 in word 0
// bits 30-31, high bit 1 in word 1 bit 0), code 11 = 3 (word 1 bits 1-3), code 21 = 6 = 0b110 (low
// bit 0 in word 1 bit 31, high bits 11 in word 2 bits 0-1), code 31 = 4 (word 2 bits 29-31).
constexpr uint32_t k3BitWords[3] = {0x40000007u, 0x00000007u, 0x80000003u};
constexpr uint32_t k3BitCode(int i) {
  return i == 0 ? 7 : i == 10 ? 5 : i == 11 ? 3 : i == 21 ? 6 : i == 31 ? 4 : 0;
}

TEST(Unpack, Gptq3BitStreamAlongN) {
  const int32_t words[3] = {int32_t(k3BitWords[0]), int32_t(k3BitWords[1]), int32_t(k3BitWords[2])};
  for (int i = 0; i < 32; ++i) EXPECT_EQ(unpack_gptq_code(words, 1, 3, i), k3BitCode(i)) << "code " << i;
}

TEST(Unpack, Gptq3BitStreamAlongKWithColumnStride) {
  // qweight [3, 2]: column 1 holds the stream, column 0 all ones bits.
  const int32_t qweight[6] = {-1, int32_t(k3BitWords[0]), -1, int32_t(k3BitWords[1]),
                              -1, int32_t(k3BitWords[2])};
  for (int k = 0; k < 32; ++k) {
    EXPECT_EQ(unpack_gptq_code(qweight + 1, 2, 3, k), k3BitCode(k)) << "row " << k;
    EXPECT_EQ(unpack_gptq_code(qweight + 0, 2, 3, k), 7u) << "row " << k;
  }
}

TEST(Unpack, TestPackerAgreesWithHandBuilt3BitWords) {
  std::vector<uint32_t> codes(32);
  for (int i = 0; i < 32; ++i) codes[i] = k3BitCode(i);
  const auto words = pack_bit_stream(codes, 3);
  ASSERT_EQ(words.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(words[i], k3BitWords[i]);
}

TEST(Unpack, AwqNibbleOrder) {
  // Slot i holds value i; slot order [0,2,4,6,1,3,5,7] puts slot i at column order[i].
  const int32_t word = 0x76543210;
  const uint32_t expected_by_column[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (int n = 0; n < 8; ++n) EXPECT_EQ(unpack_awq_code(&word, n), expected_by_column[n]) << n;
  const int32_t two_words[2] = {0, 0x76543210};
  for (int n = 0; n < 8; ++n) EXPECT_EQ(unpack_awq_code(two_words, 8 + n), expected_by_column[n]);
}

TEST(Unpack, AwqZerosAreStoredRaw) {
  IntWoMatrix m;
  m.N = 8;
  m.format = IntWoFormat{4, INCQ_PACKING_AWQ, -1, true};
  m.qzeros = {int32_t(0x88888888u)};
  for (int n = 0; n < 8; ++n) EXPECT_EQ(m.zero_at(0, n), 8);
}

// ================================================================ plugin entry and registration

TEST(Plugin, TableAndRegistration) {
  REQUIRE_PLUGIN();
  const incq_plugin_api* api = plugin_api();
  EXPECT_EQ(api->struct_size, sizeof(incq_plugin_api));
  EXPECT_EQ(api->abi_major, uint32_t(INCQ_ABI_VERSION_MAJOR));
  EXPECT_STREQ(api->name, "inc_cpu");
  EXPECT_STREQ(api->version, "0.1.0");
  // The plugin registers more than these two (FP8, MX, W4A8 references): each of the weight-only
  // ones is looked up by name and must be registered exactly once.
  for (const std::string name : {"inc_cpu.ref.int_wo_linear", "inc_cpu.ref.int_wo_moe"}) {
    const auto& all = impls().host.impls;
    EXPECT_EQ(std::count_if(all.begin(), all.end(), [&](const incq_impl_desc* d) { return d->name == name; }), 1)
        << name;
  }
  const incq_impl_desc* l = impls().linear;
  EXPECT_EQ(l->module_kind, INCQ_MODULE_LINEAR);
  EXPECT_EQ(l->family, INCQ_FAMILY_INT);
  EXPECT_EQ(l->bits_mask, INCQ_BIT(2) | INCQ_BIT(3) | INCQ_BIT(4) | INCQ_BIT(8));
  EXPECT_EQ(l->packing_mask, INCQ_BIT(INCQ_PACKING_GPTQ_V1) | INCQ_BIT(INCQ_PACKING_GPTQ_V2) |
                                 INCQ_BIT(INCQ_PACKING_AWQ));
  EXPECT_EQ(l->device_mask, INCQ_BIT(INCQ_DEVICE_CPU));
  EXPECT_NE(l->apply_linear, nullptr);
  EXPECT_EQ(l->apply_moe, nullptr);
  EXPECT_GT(l->tolerance, 0.0);
  EXPECT_LE(l->tolerance, 1e-10);
  EXPECT_EQ(impls().moe->module_kind, INCQ_MODULE_MOE);
  EXPECT_NE(impls().moe->apply_moe, nullptr);
  EXPECT_EQ(impls().moe->apply_linear, nullptr);
}

TEST(Plugin, UnknownOptionIsRejectedByName) {
  REQUIRE_PLUGIN();
  FakeHost host;
  incq_host_api table = host.table();
  const incq_kv opts[] = {{"num_threadz", "4"}};
  incq_error err{sizeof(incq_error), 0, {}};
  EXPECT_EQ(plugin_api()->initialize(&table, opts, 1, &err), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(err.message), HasSubstr("unknown option 'num_threadz'"));
}

TEST(Plugin, WrongHostAbiMajorIsAbiError) {
  REQUIRE_PLUGIN();
  FakeHost host;
  incq_host_api table = host.table();
  table.abi_major = INCQ_ABI_VERSION_MAJOR + 1;
  incq_error err{sizeof(incq_error), 0, {}};
  EXPECT_EQ(plugin_api()->initialize(&table, nullptr, 0, &err), INCQ_ERR_ABI);
  EXPECT_TRUE(host.impls.empty());
}

TEST(Plugin, ProbeCpuAndOthers) {
  REQUIRE_PLUGIN();
  incq_availability a{sizeof(incq_availability), 0, {}};
  a.struct_size = sizeof a;
  ASSERT_EQ(plugin_api()->probe(INCQ_DEVICE_CPU, &a), INCQ_OK);
  EXPECT_EQ(a.available, 1);
  EXPECT_THAT(std::string(a.detail), HasSubstr("reference"));
  ASSERT_EQ(plugin_api()->probe(INCQ_DEVICE_OPENCL, &a), INCQ_OK);
  EXPECT_EQ(a.available, 0);
  EXPECT_STREQ(a.detail, "inc_cpu runs on the CPU only");
}

// ================================================================ can_implement reasons

namespace {

std::string why_not(const incq_impl_desc* impl, const incq_layer_desc& d,
                    int32_t device_type = INCQ_DEVICE_CPU) {
  incq_device dev = cpu_device();
  dev.type = device_type;
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = impl->can_implement(impl->impl_ctx, &d, &dev, &err);
  if (s == INCQ_OK) return "OK";
  EXPECT_EQ(s, INCQ_ERR_UNSUPPORTED) << err.message;
  return err.message;
}

incq_layer_desc base_linear(int bits, int32_t packing, int64_t K, int64_t N) {
  QuantMatrix m;
  m.bits = bits; m.packing = packing; m.K = K; m.N = N; m.group_size = 32;
  return linear_desc(m, true, INCQ_DTYPE_BF16);
}

}  // namespace

TEST(CanImplement, AcceptsTheCoveredSchemes) {
  REQUIRE_PLUGIN();
  const auto* L = impls().linear;
  for (int bits : {2, 3, 4, 8})
    for (int32_t p : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2})
      EXPECT_EQ(why_not(L, base_linear(bits, p, 64, 96)), "OK") << bits << " bits, packing " << p;
  EXPECT_EQ(why_not(L, base_linear(4, INCQ_PACKING_AWQ, 40, 8)), "OK");
  auto d = base_linear(4, INCQ_PACKING_GPTQ_V2, 64, 96);
  for (int32_t g : {-1, 1, 24, 128}) { d.scheme.group_size = g; EXPECT_EQ(why_not(L, d), "OK") << g; }
  d.scheme.sym = 0;
  d.act_dtype = INCQ_DTYPE_F16;
  EXPECT_EQ(why_not(L, d), "OK");
}

TEST(CanImplement, RejectsWithPreciseReasons) {
  REQUIRE_PLUGIN();
  const auto* L = impls().linear;
  auto d = base_linear(4, INCQ_PACKING_GPTQ_V2, 64, 96);
  auto with = [&](auto change) { auto c = d; change(c); return why_not(L, c); };
  EXPECT_THAT(with([](auto& c) { c.scheme.act_bits = 8; }), HasSubstr("act_bits = 8 (W4A8) runs in inc_cpu.ref.w4a8_int_linear / _moe"));
  EXPECT_THAT(with([](auto& c) { c.scheme.family = INCQ_FAMILY_FP8; }), HasSubstr("scheme family FP8 not supported"));
  EXPECT_THAT(with([](auto& c) { c.scheme.bits = 5; }), HasSubstr("bits = 5 not supported"));
  EXPECT_THAT(with([](auto& c) { c.scheme.packing = INCQ_PACKING_AWQ; c.scheme.bits = 8; }),
              HasSubstr("AWQ packing is 4-bit only, got bits = 8"));
  EXPECT_THAT(with([](auto& c) { c.scheme.group_size = 0; }), HasSubstr("group_size = 0 invalid"));
  EXPECT_THAT(with([](auto& c) { c.scheme.group_size = -2; }), HasSubstr("group_size = -2 invalid"));
  EXPECT_THAT(with([](auto& c) { c.act_dtype = INCQ_DTYPE_F64; }), HasSubstr("activation dtype F64 not supported"));
  EXPECT_THAT(with([](auto& c) { c.in_features = 60; }),
              HasSubstr("GPTQ 4-bit qweight packs along K: K must be a multiple of 8 (K = 60, N = 96)"));
  EXPECT_THAT(with([](auto& c) { c.out_features = 100; }),
              HasSubstr("GPTQ 4-bit qzeros packs along N: N must be a multiple of 8"));
  EXPECT_THAT(with([](auto& c) { c.scheme.bits = 3; c.in_features = 48; }),
              HasSubstr("GPTQ 3-bit qweight packs along K: K must be a multiple of 32"));
  EXPECT_THAT(with([](auto& c) { c.scheme.bits = 3; c.out_features = 48; }),
              HasSubstr("GPTQ 3-bit qzeros packs along N: N must be a multiple of 32"));
  EXPECT_THAT(with([](auto& c) { c.scheme.bits = 2; c.in_features = 24; }),
              HasSubstr("K must be a multiple of 16"));
  EXPECT_THAT(with([](auto& c) { c.scheme.packing = INCQ_PACKING_AWQ; c.out_features = 12; }),
              HasSubstr("AWQ packs 8 columns per word: N must be a multiple of 8"));
  EXPECT_THAT(why_not(L, d, INCQ_DEVICE_OPENCL), HasSubstr("device type OPENCL not supported"));
  const int64_t parts[] = {32, 32, 16};
  EXPECT_THAT(with([&](auto& c) { c.num_output_partitions = 3; c.output_partition_sizes = parts; }),
              HasSubstr("output partitions sum to 80, out_features is 96"));
  const int64_t good_parts[] = {32, 32, 32};
  EXPECT_EQ(with([&](auto& c) { c.num_output_partitions = 3; c.output_partition_sizes = good_parts; }), "OK");
  EXPECT_THAT(with([](auto& c) { c.module_kind = INCQ_MODULE_MOE; }), HasSubstr("not a Linear layer"));
}

TEST(CanImplement, MoeChecksBothProjectionShapes) {
  REQUIRE_PLUGIN();
  auto d = base_linear(4, INCQ_PACKING_GPTQ_V2, 0, 0);
  d.module_kind = INCQ_MODULE_MOE;
  d.num_experts = 4; d.top_k = 2; d.hidden_size = 64; d.intermediate_size = 96;
  EXPECT_EQ(why_not(impls().moe, d), "OK");
  d.intermediate_size = 100;
  EXPECT_THAT(why_not(impls().moe, d), HasSubstr("gate_proj/up_proj [hidden_size -> intermediate_size]"));
  d.intermediate_size = 96; d.hidden_size = 12;
  // hidden = 12 fails first as gate/up's K.
  EXPECT_THAT(why_not(impls().moe, d), HasSubstr("K must be a multiple of 8 (K = 12, N = 96)"));
  d.hidden_size = 64; d.scheme.act_bits = 8;
  EXPECT_THAT(why_not(impls().moe, d), HasSubstr("act_bits = 8 (W4A8) runs in inc_cpu.ref.w4a8_int_linear / _moe"));
  d.scheme.act_bits = 16; d.module_kind = INCQ_MODULE_LINEAR;
  EXPECT_THAT(why_not(impls().moe, d), HasSubstr("not a MoE layer"));
}

TEST(CanImplement, TruncatedDescIsAbiError) {
  REQUIRE_PLUGIN();
  auto d = base_linear(4, INCQ_PACKING_GPTQ_V2, 64, 96);
  d.struct_size = offsetof(incq_layer_desc, in_features);
  incq_device dev = cpu_device();
  incq_error err{sizeof(incq_error), 0, {}};
  EXPECT_EQ(impls().linear->can_implement(nullptr, &d, &dev, &err), INCQ_ERR_ABI);
  EXPECT_THAT(std::string(err.message), HasSubstr("lacks the field 'top_k'"));
}

// ================================================================ a Linear computed by hand

namespace {

// K = 32, N = 8, 4-bit, two groups of 16. Group 0 zeros are 8, group 1 zeros are 3; every code
// equals its group's zero except three: (k0,n0) = 9, (k5,n3) = 4, (k20,n7) = 7. Scales: 0.5 in
// group 0 except column 3 = -2; group 1 column 7 = 0.25. So the only non-zero weights are
// w[0][0] = 0.5*(9-8) = 0.5, w[5][3] = -2*(4-8) = 8, w[20][7] = 0.25*(7-3) = 1.
// Bias {1, 0, 0, 0.5, 0, 0, 0, -1}. x rows: all ones except x[.][0], x[.][5], x[.][20]:
//   row 0: 2, 3, 4  -> y = {2*0.5+1, 0, 0, 3*8+0.5, 0, 0, 0, 4*1-1} = {2, 0, 0, 24.5, 0, 0, 0, 3}
//   row 1: -1, 0.5, 8 -> y = {-0.5+1, 0, 0, 4+0.5, 0, 0, 0, 8-1} = {0.5, 0, 0, 4.5, 0, 0, 0, 7}
const double kHandY[2][8] = {{2, 0, 0, 24.5, 0, 0, 0, 3}, {0.5, 0, 0, 4.5, 0, 0, 0, 7}};

void add_hand_scales_and_bias(BundleBuilder& b) {
  std::vector<uint16_t> scales(16, 0x3800);  // 0.5
  scales[3] = 0xC000;                         // group 0, column 3: -2.0
  for (int n = 8; n < 16; ++n) scales[n] = 0x3400;  // group 1: 0.25
  b.add("scales", INCQ_DTYPE_F16, {2, 8}, scales);
  b.add("bias", INCQ_DTYPE_F32, {8}, std::vector<float>{1, 0, 0, 0.5f, 0, 0, 0, -1});
}

// GPTQ qweight [4, 8]: words 0-1 hold rows 0-15 (codes 8), words 2-3 rows 16-31 (codes 3).
BundleBuilder hand_gptq_bundle(bool v1) {
  std::vector<int32_t> qweight(32);
  for (int r = 0; r < 4; ++r)
    for (int n = 0; n < 8; ++n) qweight[r * 8 + n] = int32_t(r < 2 ? 0x88888888u : 0x33333333u);
  qweight[0 * 8 + 0] = int32_t(0x88888889u);  // row 0 -> bits 0-3
  qweight[0 * 8 + 3] = int32_t(0x88488888u);  // row 5 -> bits 20-23
  qweight[2 * 8 + 7] = int32_t(0x33373333u);  // row 20 = 16 + 4 -> bits 16-19
  std::vector<int32_t> qzeros = v1 ? std::vector<int32_t>{0x77777777, 0x22222222}
                                   : std::vector<int32_t>{int32_t(0x88888888u), 0x33333333};
  BundleBuilder b;
  b.add("qweight", INCQ_DTYPE_I32, {4, 8}, qweight);
  b.add("qzeros", INCQ_DTYPE_I32, {2, 1}, qzeros);
  add_hand_scales_and_bias(b);
  return b;
}

// AWQ qweight [32, 1]: one word per row, slot s holds column [0,2,4,6,1,3,5,7][s].
BundleBuilder hand_awq_bundle() {
  std::vector<int32_t> qweight(32);
  for (int k = 0; k < 32; ++k) qweight[k] = int32_t(k < 16 ? 0x88888888u : 0x33333333u);
  qweight[0] = int32_t(0x88888889u);   // column 0 = slot 0
  qweight[5] = int32_t(0x88488888u);   // column 3 = slot 5 -> bits 20-23
  qweight[20] = int32_t(0x73333333u);  // column 7 = slot 7 -> bits 28-31
  BundleBuilder b;
  b.add("qweight", INCQ_DTYPE_I32, {32, 1}, qweight);
  b.add("qzeros", INCQ_DTYPE_I32, {2, 1}, std::vector<int32_t>{int32_t(0x88888888u), 0x33333333});
  add_hand_scales_and_bias(b);
  return b;
}

incq_layer_desc hand_desc(int32_t packing, int32_t act_dtype) {
  QuantMatrix m;
  m.K = 32; m.N = 8; m.bits = 4; m.packing = packing; m.group_size = 16;
  m.bias = {0};  // has_bias
  return linear_desc(m, false, act_dtype);
}

void fill_hand_x(Activations& x) {
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 32; ++k) x.set(r, k, 1.0);
  x.set(0, 0, 2); x.set(0, 5, 3); x.set(0, 20, 4);
  x.set(1, 0, -1); x.set(1, 5, 0.5); x.set(1, 20, 8);
}

void expect_hand_y(const Activations& y) {
  for (int r = 0; r < 2; ++r)
    for (int n = 0; n < 8; ++n) EXPECT_EQ(y.get(r, n), kHandY[r][n]) << "y[" << r << "][" << n << "]";
}

}  // namespace

TEST(HandLinear, GptqV2) {
  REQUIRE_PLUGIN();
  for (int32_t dt : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16}) {
    Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, dt));
    ASSERT_EQ(layer.status, INCQ_OK) << layer.message;
    BundleBuilder b = hand_gptq_bundle(false);
    ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
    Activations x(dt, 2, 32, 40), y(dt, 2, 8, 11);  // padded row strides on both sides
    fill_hand_x(x);
    std::string msg;
    ASSERT_EQ(apply(layer, x, y, &msg), INCQ_OK) << msg;
    expect_hand_y(y);
  }
}

TEST(HandLinear, GptqV1StoresZeroMinusOne) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V1, INCQ_DTYPE_F32));
  BundleBuilder b = hand_gptq_bundle(true);
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V1)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_F32, 2, 32, 32), y(INCQ_DTYPE_F32, 2, 8, 8);
  fill_hand_x(x);
  ASSERT_EQ(apply(layer, x, y), INCQ_OK);
  expect_hand_y(y);
}

TEST(HandLinear, Awq) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_AWQ, INCQ_DTYPE_F32));
  BundleBuilder b = hand_awq_bundle();
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_AWQ)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_F32, 2, 32, 32), y(INCQ_DTYPE_F32, 2, 8, 8);
  fill_hand_x(x);
  ASSERT_EQ(apply(layer, x, y), INCQ_OK);
  expect_hand_y(y);
}

TEST(HandLinear, GIdxPicksTheGroupOfEachRow) {
  REQUIRE_PLUGIN();
  // Same tensors, but g_idx moves row 5 into group 1 and row 20 into group 0, so those rows take
  // the other group's zeros and scales (derivation below).
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  BundleBuilder b = hand_gptq_bundle(false);
  std::vector<int32_t> g_idx(32);
  for (int k = 0; k < 32; ++k) g_idx[k] = k < 16 ? 0 : 1;
  g_idx[5] = 1;
  g_idx[20] = 0;
  b.add("g_idx", INCQ_DTYPE_I32, {32}, g_idx);
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_F32, 2, 32, 32), y(INCQ_DTYPE_F32, 2, 8, 8);
  fill_hand_x(x);
  ASSERT_EQ(apply(layer, x, y), INCQ_OK);
  // Row 5 (code 4 in column 3, other columns 8): group 1 -> zero 3, scale 0.25 (columns 0-7).
  //   w[5][3] = 0.25 * (4-3) = 0.25; w[5][n != 3] = 0.25 * (8-3) = 1.25.
  // Row 20 (code 7 in column 7, others 3): group 0 -> zero 8, scale 0.5 (column 3: -2).
  //   w[20][7] = 0.5 * (7-8) = -0.5; w[20][3] = -2 * (3-8) = 10; others 0.5 * (3-8) = -2.5.
  // With x[.][5] = a, x[.][20] = c, x[.][0] = z:
  //   y[0] = 0.5 z + 1.25 a - 2.5 c + 1;  y[3] = 0.25 a + 10 c + 0.5;
  //   y[7] = 1.25 a - 0.5 c - 1;          y[other] = 1.25 a - 2.5 c.
  const double xs[2][3] = {{2, 3, 4}, {-1, 0.5, 8}};
  for (int r = 0; r < 2; ++r) {
    const double z = xs[r][0], a = xs[r][1], c = xs[r][2];
    EXPECT_EQ(y.get(r, 0), 0.5 * z + 1.25 * a - 2.5 * c + 1);
    EXPECT_EQ(y.get(r, 3), 0.25 * a + 10 * c + 0.5);
    EXPECT_EQ(y.get(r, 7), 1.25 * a - 0.5 * c - 1);
    for (int n : {1, 2, 4, 5, 6}) EXPECT_EQ(y.get(r, n), 1.25 * a - 2.5 * c) << r << "," << n;
  }
}

TEST(HandLinear, ResidentBytesAreTheCheckpointBytes) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  BundleBuilder b = hand_gptq_bundle(false);
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK);
  uint64_t bytes = 0;
  ASSERT_EQ(impls().linear->resident_bytes(layer.handle, &bytes, nullptr), INCQ_OK);
  EXPECT_EQ(bytes, 4u * 8 * 4 + 2 * 4 + 16 * 2 + 8 * 4);  // qweight + qzeros + scales + bias
  EXPECT_EQ(bytes, b.total_bytes());
}

// ================================================================ random layers against a test oracle

namespace {

struct SweepCase {
  int bits;
  int32_t packing;
  int64_t group_size;
  bool sym, act_order;
};

// Checks the declared contract: |y - y_ref| <= tol * (sum |x w| + |b|) + half an output ulp.
void run_against_oracle(const SweepCase& c, int64_t M, int64_t K, int64_t N, int32_t act_dtype, uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << c.bits << "-bit packing " << c.packing << " G " << c.group_size
                                    << " sym " << c.sym << " g_idx " << c.act_order << " M " << M
                                    << " K " << K << " N " << N << " dtype " << act_dtype);
  const QuantMatrix m = random_matrix(K, N, c.bits, c.packing, c.group_size, c.sym, c.act_order, true, seed);
  Layer layer(impls().linear, linear_desc(m, c.sym, act_dtype));
  ASSERT_EQ(layer.status, INCQ_OK) << layer.message;
  BundleBuilder b;
  m.add_to(b, "");
  ASSERT_EQ(layer.load(b.bundle(c.packing)), INCQ_OK) << layer.message;
  Activations x(act_dtype, M, K, K + 3), y(act_dtype, M, N, N);
  std::mt19937 rng(seed + 1);
  for (int64_t r = 0; r < M; ++r)
    for (int64_t k = 0; k < K; ++k) x.set(r, k, double(int(rng() % 2001) - 1000) / 333.0);
  std::string msg;
  ASSERT_EQ(apply(layer, x, y, &msg), INCQ_OK) << msg;
  const double out_eps = act_dtype == INCQ_DTYPE_F32 ? 0x1p-24 : act_dtype == INCQ_DTYPE_F16 ? 0x1p-11 : 0x1p-8;
  for (int64_t r = 0; r < M; ++r) {
    for (int64_t n = 0; n < N; ++n) {
      long double ref = m.bias[n], mag = std::fabs(m.bias[n]);
      for (int64_t k = 0; k < K; ++k) {
        ref += (long double)x.get(r, k) * m.w(k, n);
        mag += std::fabs((long double)x.get(r, k) * m.w(k, n));
      }
      // Output rounding: half an ulp relative, or half the smallest subnormal step (F16: 2^-25).
      const double out_abs = act_dtype == INCQ_DTYPE_F16 ? 0x1p-25 : 0x1p-150;
      const double bound = impls().linear->tolerance * double(mag) + std::fabs(double(ref)) * out_eps + out_abs;
      ASSERT_LE(std::fabs(y.get(r, n) - double(ref)), bound) << "y[" << r << "][" << n << "]";
    }
  }
}

}  // namespace

TEST(OracleSweep, EveryBitsPackingGroupAndSymmetry) {
  REQUIRE_PLUGIN();
  uint32_t seed = 1;
  for (int bits : {2, 3, 4, 8}) {
    for (int32_t packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2, INCQ_PACKING_AWQ}) {
      if (packing == INCQ_PACKING_AWQ && bits != 4) continue;
      for (int64_t g : {int64_t(-1), int64_t(32), int64_t(24)}) {
        for (bool sym : {true, false}) {
          for (bool act_order : {false, true}) {
            run_against_oracle({bits, packing, g, sym, act_order}, 3, 96, 96, INCQ_DTYPE_F32, seed++);
          }
        }
      }
    }
  }
}

TEST(OracleSweep, RowCountsAndActivationDtypes) {
  REQUIRE_PLUGIN();
  const SweepCase c{4, INCQ_PACKING_GPTQ_V2, 32, false, false};
  for (int64_t M : {1, 2, 17, 33})
    for (int32_t dt : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
      run_against_oracle(c, M, 64, 136, dt, uint32_t(M * 10 + dt));
}

// ================================================================ bad weights and bad arguments

namespace {

// Loads the hand-built GPTQ v2 layer after `spoil` changed its bundle; returns the error message.
template <typename Spoil>
std::string load_error(Spoil spoil, incq_status expected = INCQ_ERR_INVALID_ARGUMENT) {
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  EXPECT_EQ(layer.status, INCQ_OK);
  BundleBuilder b = hand_gptq_bundle(false);
  spoil(b);
  EXPECT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), expected) << layer.message;
  // A layer whose weights failed must refuse to run rather than compute with nothing.
  Activations x(INCQ_DTYPE_F32, 1, 32, 32), y(INCQ_DTYPE_F32, 1, 8, 8);
  std::string apply_msg;
  EXPECT_EQ(apply(layer, x, y, &apply_msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(apply_msg, HasSubstr("apply before process_weights succeeded"));
  return layer.message;
}

const std::string kLayer = "layer 'model.layers.0.mlp.down_proj': ";

}  // namespace

TEST(BadWeights, WrongShape) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.tensor("qweight").shape[0] = 2; }),
            kLayer + "tensor 'qweight' has shape [2, 8], expected [4, 8] (GPTQ 4-bit qweight is [K*bits/32, N])");
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.tensor("scales").shape[0] = 1; b.tensor("scales").shape[1] = 16; }),
            kLayer + "tensor 'scales' has shape [1, 16], expected [2, 8] (scales are [ceil(K/G), N])");
}

TEST(BadWeights, WrongDtype) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.tensor("scales").dtype = INCQ_DTYPE_BF16; }),
            kLayer + "tensor 'scales' has dtype BF16, expected F16");
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.tensor("qzeros").dtype = INCQ_DTYPE_U32; }),
            kLayer + "tensor 'qzeros' has dtype U32, expected I32");
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.tensor("bias").dtype = INCQ_DTYPE_I32; }),
            kLayer + "tensor 'bias' has dtype I32, expected F16 or F32 or BF16");
}

TEST(BadWeights, MissingTensors) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.remove("qzeros"); }), kLayer + "missing tensor 'qzeros'");
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.remove("bias"); }),
            kLayer + "missing tensor 'bias' (the layer desc says has_bias)");
}

TEST(BadWeights, NanAndInfScaleNameTheIndex) {
  REQUIRE_PLUGIN();
  auto set_scale = [](BundleBuilder& b, int idx, uint16_t bits) {
    static_cast<uint16_t*>(b.tensor("scales").data)[idx] = bits;
  };
  EXPECT_EQ(load_error([&](BundleBuilder& b) { set_scale(b, 8 + 5, 0x7E00); }),
            kLayer + "tensor 'scales' [1, 5] is NaN");
  EXPECT_EQ(load_error([&](BundleBuilder& b) { set_scale(b, 2, 0xFC00); }),
            kLayer + "tensor 'scales' [0, 2] is Inf");
}

TEST(BadWeights, GIdxOutOfRange) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(load_error([](BundleBuilder& b) {
              std::vector<int32_t> g(32, 0);
              g[7] = 2;
              b.add("g_idx", INCQ_DTYPE_I32, {32}, g);
            }),
            kLayer + "tensor 'g_idx' [7] = 2 is outside [0, 2)");
  EXPECT_EQ(load_error([](BundleBuilder& b) {
              std::vector<int32_t> g(32, 1);
              g[31] = -1;
              b.add("g_idx", INCQ_DTYPE_I32, {32}, g);
            }),
            kLayer + "tensor 'g_idx' [31] = -1 is outside [0, 2)");
}

TEST(BadWeights, UnexpectedTensorAndDuplicate) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.add("weight", INCQ_DTYPE_F16, {1}, std::vector<uint16_t>{0}); }),
            kLayer + "unexpected tensor 'weight' in the weight bundle");
  EXPECT_EQ(load_error([](BundleBuilder& b) { b.add("scales", INCQ_DTYPE_F16, {1}, std::vector<uint16_t>{0}); }),
            kLayer + "tensor 'scales' appears twice in the bundle");
}

TEST(BadWeights, SymmetricZeroMismatchRevealsWrongPacking) {
  REQUIRE_PLUGIN();
  // A GPTQ v1 symmetric checkpoint (zeros stored as 7) declared as v2 reads zero 7, not 8.
  QuantMatrix m = random_matrix(32, 8, 4, INCQ_PACKING_GPTQ_V1, -1, true, false, false, 7);
  Layer layer(impls().linear, [&] { auto d = linear_desc(m, true, INCQ_DTYPE_F32);
                                    d.scheme.packing = INCQ_PACKING_GPTQ_V2; return d; }());
  BundleBuilder b;
  m.add_to(b, "");
  EXPECT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(layer.message, HasSubstr(kLayer + "tensor 'qzeros' [0, 0] decodes to zero 7 but symmetric "
                                       "4-bit needs 8"));
}

TEST(BadWeights, BundlePackingMustMatchScheme) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  BundleBuilder b = hand_gptq_bundle(false);
  EXPECT_EQ(layer.load(b.bundle(INCQ_PACKING_AWQ)), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(layer.message, kLayer + "bundle packing AWQ differs from the scheme's GPTQ_V2");
}

TEST(BadArguments, ApplyChecksShapesDtypesAndStrides) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  BundleBuilder b = hand_gptq_bundle(false);
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK);
  auto attempt = [&](auto spoil) {
    Activations x(INCQ_DTYPE_F32, 2, 32, 32), y(INCQ_DTYPE_F32, 2, 8, 8);
    incq_tensor xt = x.tensor(), yt = y.tensor();
    spoil(xt, yt);
    incq_error err{sizeof(incq_error), 0, {}};
    EXPECT_EQ(layer.impl->apply_linear(layer.handle, &xt, &yt, nullptr, &err), INCQ_ERR_INVALID_ARGUMENT);
    return std::string(err.message);
  };
  EXPECT_EQ(attempt([](incq_tensor& x, incq_tensor&) { x.shape[1] = 31; }),
            kLayer + "x has shape [2, 31], expected [M, 32]");
  EXPECT_EQ(attempt([](incq_tensor&, incq_tensor& y) { y.shape[0] = 3; }),
            kLayer + "y has shape [3, 8], expected [2, 8]");
  EXPECT_EQ(attempt([](incq_tensor& x, incq_tensor&) { x.dtype = INCQ_DTYPE_BF16; }),
            kLayer + "x has dtype BF16, expected F32");
  EXPECT_EQ(attempt([](incq_tensor&, incq_tensor& y) { y.dtype = INCQ_DTYPE_F16; }),
            kLayer + "y has dtype F16, expected F32");
  EXPECT_EQ(attempt([](incq_tensor& x, incq_tensor&) { x.ndim = 3; }), kLayer + "x has ndim 3, expected 2");
  EXPECT_EQ(attempt([](incq_tensor& x, incq_tensor&) { x.strides[1] = 2; }),
            kLayer + "x has last-dimension stride 2, expected 1");
  EXPECT_EQ(attempt([](incq_tensor&, incq_tensor& y) { y.strides[0] = 4; }),
            kLayer + "y has row stride 4, smaller than its 8 columns (rows would overlap)");
  EXPECT_EQ(attempt([](incq_tensor&, incq_tensor& y) { y.device_type = INCQ_DEVICE_OPENCL; }),
            kLayer + "y is not on the CPU");
}

TEST(BadArguments, LifecycleOrderAndOptions) {
  REQUIRE_PLUGIN();
  Layer layer(impls().linear, hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32));
  incq_error err{sizeof(incq_error), 0, {}};
  EXPECT_EQ(impls().linear->process_weights(layer.handle, &err), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(err.message), kLayer + "process_weights before set_weights");

  const incq_layer_desc d = hand_desc(INCQ_PACKING_GPTQ_V2, INCQ_DTYPE_F32);
  const incq_kv opts[] = {{"tile", "8"}};
  incq_device dev = cpu_device();
  incq_layer* handle = reinterpret_cast<incq_layer*>(&err);  // must be reset to NULL on failure
  EXPECT_EQ(impls().linear->create(nullptr, &d, &dev, opts, 1, &handle, &err), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(handle, nullptr);
  EXPECT_THAT(std::string(err.message), HasSubstr("unknown option 'tile'"));
  // compute_type is accepted (the reference is exact, inside every mode's bound); a non-mode is not.
  const incq_kv mode[] = {{"compute_type", "int8"}};
  ASSERT_EQ(impls().linear->create(nullptr, &d, &dev, mode, 1, &handle, &err), INCQ_OK) << err.message;
  impls().linear->destroy(handle);
  const incq_kv bad_mode[] = {{"compute_type", "fp16"}};
  EXPECT_EQ(impls().linear->create(nullptr, &d, &dev, bad_mode, 1, &handle, &err), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(err.message), HasSubstr("option 'compute_type' = 'fp16' is not one of fp32, bf16, int8, auto"));

  auto bad = d;
  bad.scheme.bits = 5;
  EXPECT_EQ(impls().linear->create(nullptr, &bad, &dev, nullptr, 0, &handle, &err), INCQ_ERR_UNSUPPORTED);
  EXPECT_EQ(std::string(err.message), kLayer + "bits = 5 not supported (2, 3, 4, 8)");
}

// ================================================================ threads

namespace {

// A tiny pool for incq_exec.parallel_for: one std::thread per chunk.
void thread_parallel_for(void*, int64_t n, incq_range_fn fn, void* ctx) {
  std::vector<std::thread> threads;
  const int64_t chunks = 3;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) threads.emplace_back([=] { fn(ctx, b, e); });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

TEST(Threads, ConcurrentApplyOnOneLayerIsBitIdentical) {
  REQUIRE_PLUGIN();
  const QuantMatrix m = random_matrix(256, 320, 4, INCQ_PACKING_GPTQ_V2, 64, false, true, true, 99);
  Layer layer(impls().linear, linear_desc(m, false, INCQ_DTYPE_BF16));
  BundleBuilder b;
  m.add_to(b, "");
  ASSERT_EQ(layer.load(b.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_BF16, 5, 256, 256);
  std::mt19937 rng(5);
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < 256; ++k) x.set(r, k, double(int(rng() % 1000) - 500) / 97.0);
  Activations serial(INCQ_DTYPE_BF16, 5, 320, 320);
  ASSERT_EQ(apply(layer, x, serial), INCQ_OK);

  std::vector<Activations> outs(4, Activations(INCQ_DTYPE_BF16, 5, 320, 320));
  std::vector<incq_status> status(4, INCQ_ERR_INTERNAL);
  incq_exec pool{sizeof(incq_exec), 3, thread_parallel_for, nullptr};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    // Two threads run serially, two through the host pool: all must agree bit for bit.
    threads.emplace_back([&, i] { status[i] = apply(layer, x, outs[i], nullptr, i % 2 ? &pool : nullptr); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(status[i], INCQ_OK);
    EXPECT_EQ(outs[i].bytes, serial.bytes) << "thread " << i;
  }
}

// ================================================================ MoE

namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }

// E = 3 experts, H = I = 8, 4-bit GPTQ v2 symmetric, one group. Expert e has exactly these
// non-zero weights (code - 8 times scale):
//   gate[0][0] = (e+1) * 0.5 (codes 9, 10, 11 with scale 0.5)
//   up[0][0] = 1, up[1][0] = 2 (codes 9 and 10, scale 1)
//   down[0][e] = 1 (code 9, scale 1 in column e)
// So for a token x: gate = x0 (e+1)/2, up = x0 + 2 x1, and expert e writes silu(gate)*up into
// output column e only (the other h entries are silu(0)*0 = 0).
QuantMatrix moe_matrix(int which, int e) {
  QuantMatrix m;
  m.K = 8; m.N = 8; m.bits = 4; m.packing = INCQ_PACKING_GPTQ_V2; m.group_size = -1;
  m.q.assign(64, 8);
  m.zero.assign(8, 8);
  m.scale.assign(8, 1.0f);
  if (which == 0) { m.q[0] = 8 + (e + 1); m.scale[0] = 0.5f; }
  if (which == 1) { m.q[0] = 9; m.q[8] = 10; }
  if (which == 2) { m.q[e] = 9; }
  return m;
}

struct MoeSetup {
  BundleBuilder bundle;
  incq_layer_desc desc{};
  MoeSetup(int32_t act_dtype, int top_k) {
    for (int e = 0; e < 3; ++e) {
      moe_matrix(0, e).add_to(bundle, std::to_string(e) + ".gate_proj.");
      moe_matrix(1, e).add_to(bundle, std::to_string(e) + ".up_proj.");
      moe_matrix(2, e).add_to(bundle, std::to_string(e) + ".down_proj.");
    }
    QuantMatrix shape = moe_matrix(0, 0);
    desc = linear_desc(shape, true, act_dtype);
    desc.name = "model.layers.3.mlp.experts";
    desc.module_kind = INCQ_MODULE_MOE;
    desc.in_features = desc.out_features = 0;
    desc.num_experts = 3;
    desc.hidden_size = 8;
    desc.intermediate_size = 8;
    desc.top_k = top_k;
  }
};

incq_status apply_moe(const Layer& layer, Activations& x, std::vector<int32_t> ids,
                      std::vector<float> weights, Activations& out, int top_k, std::string* msg = nullptr) {
  const int64_t T = x.rows;
  incq_tensor xt = x.tensor(), ot = out.tensor();
  incq_tensor it = make_tensor(ids.data(), INCQ_DTYPE_I32, {T, top_k});
  incq_tensor wt = make_tensor(weights.data(), INCQ_DTYPE_F32, {T, top_k});
  incq_error err{sizeof(incq_error), 0, {}};
  const incq_status s = layer.impl->apply_moe(layer.handle, &xt, &it, &wt, &ot, nullptr, &err);
  if (msg) *msg = err.message;
  return s;
}

}  // namespace

TEST(Moe, RepeatedExpertAndEmptyExpertByHand) {
  REQUIRE_PLUGIN();
  MoeSetup s(INCQ_DTYPE_F32, 2);
  Layer layer(impls().moe, s.desc);
  ASSERT_EQ(layer.status, INCQ_OK) << layer.message;
  ASSERT_EQ(layer.load(s.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_F32, 2, 8, 8), out(INCQ_DTYPE_F32, 2, 8, 8);
  for (int t = 0; t < 2; ++t)
    for (int k = 2; k < 8; ++k) x.set(t, k, 5.0);  // multiplies only zero weights
  x.set(0, 0, 2); x.set(0, 1, 1);    // gate_e = e+1, up = 4
  x.set(1, 0, 1); x.set(1, 1, -1);   // gate_e = (e+1)/2, up = -1
  // Token 0 picks expert 0 twice (weights add); token 1 picks 2 and 0; expert 1 gets nothing.
  std::string msg;
  ASSERT_EQ(apply_moe(layer, x, {0, 0, 2, 0}, {0.25f, 0.5f, 1.0f, 0.5f}, out, 2, &msg), INCQ_OK) << msg;
  const double expected[2][8] = {
      {0.75 * silu(1.0) * 4, 0, 0, 0, 0, 0, 0, 0},
      {0.5 * silu(0.5) * -1, 0, 1.0 * silu(1.5) * -1, 0, 0, 0, 0, 0}};
  for (int t = 0; t < 2; ++t)
    for (int n = 0; n < 8; ++n)
      EXPECT_NEAR(out.get(t, n), expected[t][n], 1e-6 * std::fabs(expected[t][n])) << t << "," << n;
  EXPECT_EQ(out.get(0, 1), 0.0);  // expert 1 never ran, column 1 stays exactly zero
}

TEST(Moe, ManyTokensFewExperts) {
  REQUIRE_PLUGIN();
  MoeSetup s(INCQ_DTYPE_BF16, 3);
  Layer layer(impls().moe, s.desc);
  ASSERT_EQ(layer.load(s.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  const int T = 200;
  Activations x(INCQ_DTYPE_BF16, T, 8, 8), out(INCQ_DTYPE_BF16, T, 8, 8);
  std::vector<int32_t> ids;
  std::vector<float> w;
  std::mt19937 rng(3);
  for (int t = 0; t < T; ++t) {
    x.set(t, 0, double(int(rng() % 64) - 32) / 8.0);
    x.set(t, 1, double(int(rng() % 64) - 32) / 8.0);
    for (int j = 0; j < 3; ++j) { ids.push_back(int32_t(rng() % 3)); w.push_back(float(rng() % 8) / 8.0f); }
  }
  ASSERT_EQ(apply_moe(layer, x, ids, w, out, 3), INCQ_OK);
  for (int t = 0; t < T; ++t) {
    double expected[3] = {0, 0, 0};
    const double x0 = x.get(t, 0), x1 = x.get(t, 1);
    for (int j = 0; j < 3; ++j) {
      const int e = ids[t * 3 + j];
      expected[e] += w[t * 3 + j] * silu(x0 * (e + 1) * 0.5) * (x0 + 2 * x1);
    }
    for (int n = 0; n < 8; ++n) {
      const double want = n < 3 ? expected[n] : 0.0;
      EXPECT_NEAR(out.get(t, n), want, std::fabs(want) * 0x1p-8 + 1e-30) << t << "," << n;
    }
  }
}

TEST(Moe, TopkIdOutOfRangeNamesTokenAndValue) {
  REQUIRE_PLUGIN();
  MoeSetup s(INCQ_DTYPE_F32, 2);
  Layer layer(impls().moe, s.desc);
  ASSERT_EQ(layer.load(s.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK) << layer.message;
  Activations x(INCQ_DTYPE_F32, 2, 8, 8), out(INCQ_DTYPE_F32, 2, 8, 8);
  std::string msg;
  EXPECT_EQ(apply_moe(layer, x, {0, 1, 2, 3}, {1, 1, 1, 1}, out, 2, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(msg, "layer 'model.layers.3.mlp.experts': token 1: topk_ids[1, 1] = 3 is outside [0, 3)");
  EXPECT_EQ(apply_moe(layer, x, {-1, 1, 2, 0}, {1, 1, 1, 1}, out, 2, &msg), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("token 0: topk_ids[0, 0] = -1"));
}

TEST(Moe, BadExpertTensorNamesExpertAndProjection) {
  REQUIRE_PLUGIN();
  MoeSetup s(INCQ_DTYPE_F32, 2);
  s.bundle.remove("2.down_proj.scales");
  s.bundle.add("3.gate_proj.qweight", INCQ_DTYPE_I32, {1}, std::vector<int32_t>{0});
  Layer layer(impls().moe, s.desc);
  EXPECT_EQ(layer.load(s.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(layer.message, "layer 'model.layers.3.mlp.experts': missing tensor '2.down_proj.scales'");

  MoeSetup s2(INCQ_DTYPE_F32, 2);
  s2.bundle.add("3.gate_proj.qweight", INCQ_DTYPE_I32, {1}, std::vector<int32_t>{0});
  Layer layer2(impls().moe, s2.desc);
  EXPECT_EQ(layer2.load(s2.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(layer2.message,
            "layer 'model.layers.3.mlp.experts': unexpected tensor '3.gate_proj.qweight' in the weight bundle");
}

TEST(Moe, ResidentBytesAreTheCheckpointBytes) {
  REQUIRE_PLUGIN();
  MoeSetup s(INCQ_DTYPE_F32, 2);
  Layer layer(impls().moe, s.desc);
  ASSERT_EQ(layer.load(s.bundle.bundle(INCQ_PACKING_GPTQ_V2)), INCQ_OK);
  uint64_t bytes = 0;
  ASSERT_EQ(impls().moe->resident_bytes(layer.handle, &bytes, nullptr), INCQ_OK);
  EXPECT_EQ(bytes, s.bundle.total_bytes());
}
