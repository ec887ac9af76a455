// incq_xpu_bench: inc_xpu on one OpenCL device, measured as DESIGN §6 asks — cold weights (every
// timed call uses the next of several weight copies totalling more than the device's last-level
// cache), medians of interleaved repetitions, GB/s and GFLOP/s, the device's own read bandwidth
// measured in the same process. Prints JSON (one object) on stdout; bench/xpu/run.sh merges it
// with the torch baselines and prints the table.
//
//   incq_xpu_bench --plugin-dir DIR [--platform NAME] [--copies 8] [--iters 40] [--reps 7]
//                  [--tiles 16x16,32x8,...] [--prefill-tiles 16x8,...] [--tc-warps 4,8,16] [--tc-splits 1,0,4]
//                  [--gemv W:KB,...] [--gemv16 W:KB,...] [--ms 1,16] [--cache-dir DIR] [--build-options OPTS]
// --gemv / --gemv16: split-K GEMV configurations (gemv_warps:gemv_kblocks, KB 0 = automatic) tried
// at M = 1 / M = 16 besides the tile kernels and the tensor-core GEMM.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/loaded_layer.hpp"
#include "core/plugin_loader.hpp"
#include "device_info.hpp"
#include "device_select.hpp"
#include "incq/plugin_helpers.hpp"
#include "opencl/device_tensor.hpp"

using namespace incq;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string plugin_dir, platform, cache_dir = "off", build_options;
  int copies = 8, iters = 40, reps = 7;
  bool quick = false;  // small shapes, one repetition: a smoke test of the driver itself (e.g. on PoCL)
  std::vector<std::string> tiles = {"16x16", "8x32", "4x64", "32x8", "4x32", "8x16", "2x128", "16x32"};
  std::vector<std::string> prefill_tiles = {"16x8", "32x4", "16x4", "8x8", "8x4", "64x2"};
  std::vector<std::string> tc_warps = {"4", "8", "16"};
  std::vector<std::string> tc_splits = {"1"};
  std::vector<std::string> ms;  // --ms 1,16: only these M of the W4A16 sweep (default 1, 16, 512)
  std::vector<std::string> gemv = {"4:0", "2:0", "8:0", "4:8", "4:16", "4:32", "8:32", "4:64"};
  std::vector<std::string> gemv16 = {"4:0", "4:8", "4:16", "2:8", "8:4"};
};

Args parse(int argc, char** argv) {
  Args a;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t p = 0;
    while (p <= s.size()) {
      size_t q = s.find(',', p);
      if (q == std::string::npos) q = s.size();
      if (q > p) out.push_back(s.substr(p, q - p));
      p = q + 1;
    }
    return out;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--quick") {
      a.quick = true;
      a.copies = a.iters = a.reps = 1;
      --i;
      continue;
    }
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
    const std::string v = argv[i + 1];
    if (k == "--plugin-dir") a.plugin_dir = v;
    else if (k == "--platform") a.platform = v;
    else if (k == "--copies") a.copies = std::stoi(v);
    else if (k == "--iters") a.iters = std::stoi(v);
    else if (k == "--reps") a.reps = std::stoi(v);
    else if (k == "--tiles") a.tiles = split(v);
    else if (k == "--prefill-tiles") a.prefill_tiles = split(v);
    else if (k == "--tc-warps") a.tc_warps = split(v);
    else if (k == "--tc-splits") a.tc_splits = split(v);
    else if (k == "--ms") a.ms = split(v);
    else if (k == "--gemv") a.gemv = split(v);
    else if (k == "--gemv16") a.gemv16 = split(v);
    else if (k == "--cache-dir") a.cache_dir = v;
    else if (k == "--build-options") a.build_options = v;
    else throw std::runtime_error("unknown argument " + k);
  }
  if (a.plugin_dir.empty()) throw std::runtime_error("--plugin-dir is required");
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void check(cl_int st, const char* what) {
  if (st != CL_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cl_dynamic::status_name(st));
}

// Random GPTQ v2 symmetric int W4 g128 tensors for a [K -> N] matrix (values do not matter for
// timing; the layout and sizes do).
struct IntTensors {
  std::vector<uint32_t> qweight, qzeros;
  std::vector<uint16_t> scales;
  std::vector<host::BundleTensor> bundle(const std::string& prefix, int64_t K, int64_t N, int G) {
    return {{prefix + "qweight", host::cpu_tensor(qweight.data(), INCQ_DTYPE_I32, {K / 8, N})},
            {prefix + "qzeros", host::cpu_tensor(qzeros.data(), INCQ_DTYPE_I32, {K / G, N / 8})},
            {prefix + "scales", host::cpu_tensor(scales.data(), INCQ_DTYPE_F16, {K / G, N})}};
  }
};

IntTensors random_w4(int64_t K, int64_t N, int G, std::mt19937& rng) {
  IntTensors t;
  t.qweight.resize(static_cast<size_t>(K / 8 * N));
  for (auto& w : t.qweight) w = rng();
  t.qzeros.assign(static_cast<size_t>(K / G * N / 8), 0x88888888u);
  t.scales.resize(static_cast<size_t>(K / G * N));
  std::uniform_real_distribution<float> d(0.001f, 0.01f);
  for (auto& s : t.scales) s = float_to_half(d(rng));
  return t;
}

incq_layer_desc linear_desc(const std::string& name, int64_t K, int64_t N, int G, const std::vector<int64_t>* parts) {
  incq_layer_desc d{};
  d.struct_size = sizeof d;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.name = name.c_str();
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.family = INCQ_FAMILY_INT;
  d.scheme.bits = 4;
  d.scheme.group_size = G;
  d.scheme.sym = 1;
  d.scheme.packing = INCQ_PACKING_GPTQ_V2;
  d.scheme.act_bits = 16;
  d.act_dtype = INCQ_DTYPE_BF16;
  d.in_features = K;
  d.out_features = N;
  if (parts != nullptr) {
    d.num_output_partitions = static_cast<int32_t>(parts->size());
    d.output_partition_sizes = parts->data();
  }
  return d;
}

struct Device {
  cl_context ctx = nullptr;
  cl_command_queue queue = nullptr;
  cl_device_id dev = nullptr;
  incq_device abi() const {
    incq_device d{};
    d.struct_size = sizeof d;
    d.type = INCQ_DEVICE_OPENCL;
    d.native_context = ctx;
    d.native_queue = queue;
    return d;
  }
};

// Median over reps of (wall time of `iters` back-to-back calls + one clFinish) / iters, in us.
template <typename Fn>
double time_us(const Device& d, int iters, int reps, Fn&& call) {
  call(0);  // warm-up (first-launch compilation, allocations)
  check(clFinish(d.queue), "clFinish");
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) call(i);
    check(clFinish(d.queue), "clFinish");
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters);
  }
  return median(t);
}

const char* kReadKernel = R"CL(
__kernel void read_bw_uint4(global const uint4* p, const ulong n, global uint* out) {
  uint4 acc = (uint4)(0);
  for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) acc ^= p[i];
  const uint v = acc.x ^ acc.y ^ acc.z ^ acc.w;
  if (v == 0x9e3779b9u) out[get_global_id(0) & 1023] = v;  // keeps the loads alive
}
)CL";

double read_bandwidth_gbs(const Device& d, int reps) {
  const size_t bytes = size_t(1) << (reps == 1 ? 24 : 30);
  cl_int st = CL_SUCCESS;
  cl_mem buf = clCreateBuffer(d.ctx, CL_MEM_READ_WRITE, bytes, nullptr, &st);
  check(st, "read bw buffer");
  const uint32_t pattern = 0x01234567u;
  check(clEnqueueFillBuffer(d.queue, buf, &pattern, 4, 0, bytes, 0, nullptr, nullptr), "fill");
  cl_mem out = clCreateBuffer(d.ctx, CL_MEM_READ_WRITE, 4096, nullptr, &st);
  check(st, "read bw out");
  const size_t len = std::strlen(kReadKernel);
  cl_program prog = clCreateProgramWithSource(d.ctx, 1, &kReadKernel, &len, &st);
  check(st, "read bw program");
  check(clBuildProgram(prog, 1, &d.dev, "", nullptr, nullptr), "read bw build");
  cl_kernel k = clCreateKernel(prog, "read_bw_uint4", &st);
  check(st, "read bw kernel");
  const cl_ulong n = bytes / 16;
  clSetKernelArg(k, 0, sizeof buf, &buf);
  clSetKernelArg(k, 1, sizeof n, &n);
  clSetKernelArg(k, 2, sizeof out, &out);
  cl_uint cus = 1;
  clGetDeviceInfo(d.dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, nullptr);
  double best = 0;
  for (size_t per_cu : {1024, 2048, 4096}) {
    const size_t global = per_cu * cus, local = 256;
    const double us = time_us(d, 5, reps, [&](int) {
      check(clEnqueueNDRangeKernel(d.queue, k, 1, nullptr, &global, &local, 0, nullptr, nullptr), "read bw launch");
    });
    best = std::max(best, static_cast<double>(bytes) / (us * 1e3));
  }
  clReleaseKernel(k);
  clReleaseProgram(prog);
  clReleaseMemObject(out);
  clReleaseMemObject(buf);
  return best;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "?";
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  json out;
  cl_support::DeviceChoice choice;
  choice.platform = args.platform;
  choice.allow_cpu_devices = true;
  const auto sel = cl_support::select_device(choice);
  if (sel.device == nullptr) throw std::runtime_error("no OpenCL device: " + sel.reason);
  Device d;
  d.dev = sel.device;
  cl_int st = CL_SUCCESS;
  d.ctx = clCreateContext(nullptr, 1, &d.dev, nullptr, nullptr, &st);
  check(st, "context");
  d.queue = clCreateCommandQueue(d.ctx, d.dev, 0, &st);
  check(st, "queue");
  out["machine"] = {{"cpu", cpu_model()}, {"device", sel.description}};

  host::PluginSet plugins;
  std::map<std::string, host::OptionMap> popts;
  popts["inc_xpu"] = {{"cache_dir", args.cache_dir}};
  if (!args.platform.empty()) popts["inc_xpu"]["platform"] = args.platform;
  if (!args.build_options.empty()) popts["inc_xpu"]["build_options"] = args.build_options;
  plugins.set_plugin_options(popts);
  plugins.load_file(args.plugin_dir + "/libincq_inc_xpu.so");
  const host::Implementation* lin = plugins.registry().find("inc_xpu.int_wo_linear");
  const host::Implementation* moe = plugins.registry().find("inc_xpu.int_wo_moe");
  if (lin == nullptr || moe == nullptr) throw std::runtime_error("inc_xpu implementations not registered");
  const incq_device dev = d.abi();
  const incq_exec exec{sizeof(incq_exec), 1, nullptr, nullptr};

  out["read_bandwidth_GBs"] = read_bandwidth_gbs(d, args.reps);
  std::cerr << fmt::format("read bandwidth {:.0f} GB/s\n", out["read_bandwidth_GBs"].get<double>());

  std::mt19937 rng(7);
  // --- W4A16 g128 Linear, N x K = 4096 x 14336: decode (M=1), M=16, prefill (M=512)
  {
    const int64_t N = args.quick ? 256 : 4096, K = args.quick ? 512 : 14336;
    const int G = 128;
    const std::string name = "bench.down_proj";
    const incq_layer_desc desc = linear_desc(name, K, N, G, nullptr);
    IntTensors t = random_w4(K, N, G, rng);
    const double weight_bytes = t.qweight.size() * 4.0 + t.qzeros.size() * 4.0 + t.scales.size() * 2.0;
    json shape = {{"N", N}, {"K", K}, {"group", G}, {"copies", args.copies},
                  {"weight_MB_per_copy", weight_bytes / 1e6}};
    for (int64_t M : {int64_t(1), int64_t(16), int64_t(args.quick ? 33 : 512)}) {
      if (!args.ms.empty() && std::find(args.ms.begin(), args.ms.end(), std::to_string(M)) == args.ms.end()) continue;
      std::vector<uint16_t> x(static_cast<size_t>(M * K));
      std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
      for (auto& v : x) v = float_to_bf16(xd(rng));
      host::opencl::DeviceTensor dx(d.ctx, d.queue, INCQ_DTYPE_BF16, {M, K}, x.data());
      host::opencl::DeviceTensor dy(d.ctx, d.queue, INCQ_DTYPE_BF16, {M, N}, nullptr);
      const bool prefill = M >= 5;
      // Configurations: the f32 FMA tile kernels over work-group shapes, the tensor-core GEMM, then
      // the split-K GEMV (M <= 16).
      std::vector<host::OptionMap> configs;
      for (const auto& tile : prefill ? args.prefill_tiles : args.tiles)
        configs.push_back({{prefill ? "prefill_tile" : "decode_tile", tile}, {"tensor_cores", "off"}, {"gemv", "off"}});
      for (const auto& warps : args.tc_warps)
        for (const auto& sp : args.tc_splits)
          configs.push_back(
              {{"tensor_cores", "on"}, {"tensor_core_warps", warps}, {"tensor_core_splits", sp}, {"gemv", "off"}});
      if (M <= 16)
        for (const auto& g : M == 1 ? args.gemv : args.gemv16) {
          const size_t colon = g.find(':');
          if (colon == std::string::npos) throw std::runtime_error("--gemv entries are WARPS:KBLOCKS, got " + g);
          configs.push_back({{"gemv", "on"}, {"gemv_warps", g.substr(0, colon)}, {"gemv_kblocks", g.substr(colon + 1)}});
        }
      // The FMA kernel's output on copy 0 is the reference each configuration is checked against
      // (both are differential-tested against the oracle on PoCL; the tensor-core kernel only here).
      std::vector<uint16_t> y_ref(static_cast<size_t>(M * N)), y_cfg(y_ref.size());
      json best;
      json all = json::array();
      for (size_t ci = 0; ci < configs.size(); ++ci) {
        const host::OptionMap& lo = configs[ci];
        std::string label;
        for (const auto& [k, v] : lo) label += (label.empty() ? "" : ",") + k + "=" + v;
        std::vector<std::unique_ptr<host::LoadedLayer>> layers;
        double us = 0;
        try {
          for (int c = 0; c < args.copies; ++c)
            layers.push_back(host::LoadedLayer::load(*lin, desc, dev, t.bundle("", K, N, G), INCQ_PACKING_GPTQ_V2, lo));
          layers[0]->apply_linear(dx.view(), dy.view(), exec);
          dy.read(ci == 0 ? y_ref.data() : y_cfg.data());
          us = time_us(d, args.iters, args.reps, [&](int i) {
            layers[static_cast<size_t>(i) % layers.size()]->apply_linear(dx.view(), dy.view(), exec);
          });
        } catch (const std::exception& e) {
          all.push_back({{"config", label}, {"error", e.what()}});
          std::cerr << fmt::format("W4A16 M={} {}: {}\n", M, label, e.what());
          continue;
        }
        double max_diff = 0, max_ref = 0;
        if (ci > 0)
          for (size_t i = 0; i < y_ref.size(); ++i) {
            max_diff = std::max(max_diff, static_cast<double>(std::fabs(bf16_to_float(y_cfg[i]) - bf16_to_float(y_ref[i]))));
            max_ref = std::max(max_ref, static_cast<double>(std::fabs(bf16_to_float(y_ref[i]))));
          }
        const double bytes = weight_bytes + M * K * 2.0 + M * N * 2.0;
        json r = {{"config", label}, {"us", us}, {"GBs", bytes / (us * 1e3)}, {"GFLOPs", 2.0 * M * N * K / (us * 1e3)},
                  {"max_rel_diff_vs_fma", max_ref > 0 ? max_diff / max_ref : 0.0}};
        all.push_back(r);
        // A configuration only counts when it agrees with the reference kernel (bf16 output rounding).
        if ((ci == 0 || r["max_rel_diff_vs_fma"].get<double>() < 1e-2) && (best.is_null() || us < best["us"].get<double>()))
          best = r;
        std::cerr << fmt::format("W4A16 M={} {}: {:.1f} us (diff {:.2e})\n", M, label, us, r["max_rel_diff_vs_fma"].get<double>());
      }
      shape[fmt::format("M{}", M)] = {{"best", best}, {"tried", all}};
    }
    out["w4a16_4096x14336"] = shape;
  }
  // --- fused q/k/v (Llama-3-8B GQA: q 4096, k 1024, v 1024 over K = 4096), M = 1
  {
    const int64_t K = args.quick ? 256 : 4096;
    const int G = 128;
    const std::vector<int64_t> parts =
        args.quick ? std::vector<int64_t>{256, 64, 64} : std::vector<int64_t>{4096, 1024, 1024};
    const int64_t N = parts[0] + parts[1] + parts[2];
    IntTensors merged = random_w4(K, N, G, rng);
    std::vector<IntTensors> sep;
    for (int64_t n : parts) sep.push_back(random_w4(K, n, G, rng));
    std::vector<uint16_t> x(static_cast<size_t>(K), float_to_bf16(0.01f));
    host::opencl::DeviceTensor dx(d.ctx, d.queue, INCQ_DTYPE_BF16, {1, K}, x.data());
    host::opencl::DeviceTensor dy(d.ctx, d.queue, INCQ_DTYPE_BF16, {1, N}, nullptr);
    std::vector<std::unique_ptr<host::opencl::DeviceTensor>> dys;
    for (int64_t n : parts) dys.push_back(std::make_unique<host::opencl::DeviceTensor>(d.ctx, d.queue, INCQ_DTYPE_BF16,
                                                                                        std::vector<int64_t>{1, n}, nullptr));
    // Each copy set is cold in turn: copies*3 merged layers and as many sets of three separate ones.
    const size_t sets = static_cast<size_t>(args.copies) * 3;
    std::vector<std::unique_ptr<host::LoadedLayer>> fused;
    std::vector<std::vector<std::unique_ptr<host::LoadedLayer>>> split(sets);
    const std::string qkv = "bench.qkv_proj";
    const std::vector<std::string> names = {"bench.q_proj", "bench.k_proj", "bench.v_proj"};
    for (size_t c = 0; c < sets; ++c) {
      fused.push_back(host::LoadedLayer::load(*lin, linear_desc(qkv, K, N, G, &parts), dev, merged.bundle("", K, N, G),
                                              INCQ_PACKING_GPTQ_V2));
      for (size_t p = 0; p < parts.size(); ++p)
        split[c].push_back(host::LoadedLayer::load(*lin, linear_desc(names[p], K, parts[p], G, nullptr), dev,
                                                   sep[p].bundle("", K, parts[p], G), INCQ_PACKING_GPTQ_V2));
    }
    std::vector<double> tf, ts;
    for (int r = 0; r < args.reps; ++r) {  // interleaved
      tf.push_back(time_us(d, args.iters, 1, [&](int i) {
        fused[static_cast<size_t>(i) % fused.size()]->apply_linear(dx.view(), dy.view(), exec);
      }));
      ts.push_back(time_us(d, args.iters, 1, [&](int i) {
        auto& set = split[static_cast<size_t>(i) % split.size()];
        for (size_t p = 0; p < 3; ++p) set[p]->apply_linear(dx.view(), dys[p]->view(), exec);
      }));
    }
    out["qkv_fused_M1"] = {{"K", K}, {"parts", parts}, {"fused_us", median(tf)}, {"separate_us", median(ts)},
                           {"speedup", median(ts) / median(tf)}};
  }
  // --- MoE decode: 64 experts, top-8, H = 2048, I = 1408 (DeepSeek-V2-Lite sizes), W4 g128, T = 1
  {
    const int64_t E = args.quick ? 8 : 64, H = args.quick ? 256 : 2048, I = args.quick ? 128 : 1408, T = 1;
    const int top_k = 8, G = 128;
    std::vector<IntTensors> w;
    std::vector<host::BundleTensor> bundle;
    w.reserve(static_cast<size_t>(E * 3));
    for (int64_t e = 0; e < E; ++e) {
      for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
        const bool down = std::strcmp(proj, "down_proj") == 0;
        w.push_back(random_w4(down ? I : H, down ? H : I, G, rng));
        auto b = w.back().bundle(fmt::format("{}.{}.", e, proj), down ? I : H, down ? H : I, G);
        bundle.insert(bundle.end(), b.begin(), b.end());
      }
    }
    incq_layer_desc desc{};
    desc.struct_size = sizeof desc;
    desc.module_kind = INCQ_MODULE_MOE;
    const std::string name = "bench.mlp.experts";
    desc.name = name.c_str();
    desc.scheme = linear_desc(name, H, I, G, nullptr).scheme;
    desc.act_dtype = INCQ_DTYPE_BF16;
    desc.num_experts = E;
    desc.hidden_size = H;
    desc.intermediate_size = I;
    desc.top_k = top_k;
    std::vector<std::unique_ptr<host::LoadedLayer>> layers;
    const int moe_copies = args.quick ? 1 : 2;  // 2 x 277 MB of experts; routing changes every call as well
    for (int c = 0; c < moe_copies; ++c)
      layers.push_back(host::LoadedLayer::load(*moe, desc, dev, bundle, INCQ_PACKING_GPTQ_V2));
    std::vector<uint16_t> x(static_cast<size_t>(T * H), float_to_bf16(0.01f));
    host::opencl::DeviceTensor dx(d.ctx, d.queue, INCQ_DTYPE_BF16, {T, H}, x.data());
    host::opencl::DeviceTensor dy(d.ctx, d.queue, INCQ_DTYPE_BF16, {T, H}, nullptr);
    std::vector<std::unique_ptr<host::opencl::DeviceTensor>> ids, wts;
    for (int v = 0; v < 16; ++v) {
      std::vector<int32_t> id(static_cast<size_t>(T * top_k));
      std::vector<int32_t> all(static_cast<size_t>(E));
      for (int e = 0; e < E; ++e) all[static_cast<size_t>(e)] = e;
      std::shuffle(all.begin(), all.end(), rng);
      for (int j = 0; j < top_k; ++j) id[static_cast<size_t>(j)] = all[static_cast<size_t>(j)];
      std::vector<float> wt(static_cast<size_t>(T * top_k), 1.0f / top_k);
      ids.push_back(std::make_unique<host::opencl::DeviceTensor>(d.ctx, d.queue, INCQ_DTYPE_I32, std::vector<int64_t>{T, top_k}, id.data()));
      wts.push_back(std::make_unique<host::opencl::DeviceTensor>(d.ctx, d.queue, INCQ_DTYPE_F32, std::vector<int64_t>{T, top_k}, wt.data()));
    }
    const double us = time_us(d, args.iters, args.reps, [&](int i) {
      const size_t v = static_cast<size_t>(i) % ids.size();
      layers[static_cast<size_t>(i) % layers.size()]->apply_moe(dx.view(), ids[v]->view(), wts[v]->view(), dy.view(), exec);
    });
    const double expert_bytes = 3.0 * (H * I / 2.0 + H / G * I * 2.0 + H / G * I / 2.0);
    out["moe_decode"] = {{"experts", E}, {"top_k", top_k}, {"H", H}, {"I", I}, {"us", us},
                         {"GBs_of_touched_experts", top_k * expert_bytes / (us * 1e3)}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "incq_xpu_bench: " << e.what() << "\n";
  return 1;
}
