#include "ark_self_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "ark_runtime.hpp"
#include "ark_types.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::ark {
namespace {

constexpr double kDeclaredTolerance = 1e-2;  // ark.cpu.int_wo_linear's descriptor
constexpr double kFp32Tolerance = 1e-5;

// A small deterministic generator (the check must give the same answer on every run).
struct Lcg {
  uint64_t s;
  explicit Lcg(uint64_t seed) : s(seed * 6364136223846793005ull + 1442695040888963407ull) {}
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  double uniform() { return (next() & 0xFFFFFF) / double(0x1000000) * 2.0 - 1.0; }  // [-1, 1)
};

// Max over outputs of |y - y_ref| / sum|x*w|, for one problem; +inf for a NaN.
double run_problem(int32_t bits, bool asym, int32_t compute, int32_t scale_type, int64_t M, int64_t K, int64_t N,
                   int64_t G, int32_t threads, uint64_t seed) {
  Lcg rng(seed);
  const int32_t half = 1 << (bits - 1);
  const int64_t groups = K / G;
  std::vector<int8_t> q(static_cast<size_t>(K * N)), zp(static_cast<size_t>(groups * N), 0);
  std::vector<float> scales(static_cast<size_t>(groups * N));
  for (auto& v : q) v = static_cast<int8_t>(static_cast<int32_t>(rng.next() % (2u * half)) - half);
  if (asym)
    for (auto& v : zp) v = static_cast<int8_t>(static_cast<int32_t>(rng.next() % (2u * half)) - half);
  // fp16-representable scales of both signs, as AutoRound checkpoints hold them.
  for (auto& v : scales) v = half_to_float(float_to_half(static_cast<float>(rng.uniform() * 0.02)));
  std::vector<float> x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N), NAN);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  ArkWeightFormat f{N, K, G, compute, ark_int_weight_type(bits), scale_type, asym};
  const uint64_t bytes = ark_packed_weight_size(f);
  std::vector<uint8_t> blob(static_cast<size_t>(bytes) + 64, 0);
  uint8_t* aligned = blob.data() + (64 - reinterpret_cast<uintptr_t>(blob.data()) % 64) % 64;
  ark_repack(f, q.data(), zp.data(), scales.data(), aligned);
  ark_woqgemm(f, M, x.data(), aligned, bytes, y.data(), nullptr, threads);
  double worst = 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const size_t g = static_cast<size_t>((k / G) * N + n);
        const double w = (double(q[k * N + n]) - double(zp[g])) * double(scales[g]);
        ref += double(x[m * K + k]) * w;
        mag += std::fabs(double(x[m * K + k]) * w);
      }
      const double err = std::fabs(double(y[m * N + n]) - ref);
      const double ratio = std::isnan(err) ? INFINITY : err / (mag > 0 ? mag : 1e-30);
      if (ratio > worst) worst = ratio;
    }
  }
  return worst;
}

// Decode and prefill row counts, K and N off ARK's tiles.
double check(int32_t bits, bool asym, int32_t compute, int32_t scale_type) {
  double worst = 0;
  uint64_t seed = 1;
  for (int64_t M : {1, 4, 16, 33}) {
      const double e = run_problem(bits, asym, compute, scale_type, M, 384, 160, 64, 0, seed++);
      if (!(e <= worst)) worst = e;
    }
  return worst;
}

std::string name(int32_t bits, bool asym, int32_t compute) {
  const char* c = compute == kArkF32 ? "fp32" : compute == kArkBF16 ? "bf16" : compute == kArkInt8 ? "int8" : "auto";
  return "int" + std::to_string(bits) + (asym ? " asym" : " sym") + ", compute " + c;
}

}  // namespace

double ark_config_tolerance(int32_t compute_type) {
  return compute_type == kArkF32 ? kFp32Tolerance : kDeclaredTolerance;
}

const ArkConfigResult& ark_config_check(int32_t bits, bool asym, int32_t compute_type) {
  static std::mutex mutex;
  static std::map<std::tuple<int32_t, bool, int32_t>, ArkConfigResult> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(bits, asym, compute_type);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  ArkConfigResult r;
  const double tol = ark_config_tolerance(compute_type);
  std::string tried;
  // fp16 scales first: exact for AutoRound's fp16 scales and half the bytes of fp32.
  for (int32_t st : {int32_t(kArkF16), int32_t(kArkF32)}) {
    const double e = check(bits, asym, compute_type, st);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s scales: max error %.3g x sum|x*w|", st == kArkF16 ? "fp16" : "fp32", e);
    tried += (tried.empty() ? "" : "; ") + std::string(buf);
    if (e <= tol) {
      r.ok = true;
      r.scale_type = st;
      break;
    }
  }
  if (!r.ok) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0e", tol);
    r.detail = "ARK's " + name(bits, asym, compute_type) + " failed incq's self-test on this CPU (" + tried +
               ", bound " + buf + ")";
  }
  return cache.emplace(key, r).first->second;
}

}  // namespace incq::ark
