#include "read_bandwidth.hpp"

#include <immintrin.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace incq::bench {

namespace {

// Four independent accumulators keep enough loads in flight; the sum is kept so the compiler
// cannot drop the loads.
// Horizontal sum through memory: GCC 12's _mm512_reduce_add_epi64 trips -Wuninitialized.
__attribute__((target("avx512f"))) uint64_t lanes_sum(__m512i v) {
  alignas(64) uint64_t l[8];
  _mm512_store_si512(l, v);
  return l[0] + l[1] + l[2] + l[3] + l[4] + l[5] + l[6] + l[7];
}

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint8_t* p, uint64_t n) {
  __m512i a0 = _mm512_set1_epi64(0), a1 = a0, a2 = a0, a3 = a0;
  uint64_t i = 0;
  for (; i + 256 <= n; i += 256) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 192));
  }
  a0 = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  return lanes_sum(a0);
}

// Four streams at once (the slice's quarters): more independent misses in flight per core, which
// single-core bandwidth depends on.
__attribute__((target("avx512f"))) uint64_t sum_avx512_4streams(const uint8_t* p, uint64_t n) {
  const uint64_t q = n / 4 / 128 * 128;
  const uint8_t *p0 = p, *p1 = p + q, *p2 = p + 2 * q, *p3 = p + 3 * q;
  __m512i a0 = _mm512_set1_epi64(0), a1 = a0, a2 = a0, a3 = a0;
  for (uint64_t i = 0; i < q; i += 128) {
    a0 = _mm512_add_epi64(a0, _mm512_add_epi64(_mm512_load_si512(p0 + i), _mm512_load_si512(p0 + i + 64)));
    a1 = _mm512_add_epi64(a1, _mm512_add_epi64(_mm512_load_si512(p1 + i), _mm512_load_si512(p1 + i + 64)));
    a2 = _mm512_add_epi64(a2, _mm512_add_epi64(_mm512_load_si512(p2 + i), _mm512_load_si512(p2 + i + 64)));
    a3 = _mm512_add_epi64(a3, _mm512_add_epi64(_mm512_load_si512(p3 + i), _mm512_load_si512(p3 + i + 64)));
  }
  a0 = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  return lanes_sum(a0) + sum_avx512(p + 4 * q, n - 4 * q);
}

// One stream with software prefetch well ahead of the loads.
__attribute__((target("avx512f"))) uint64_t sum_avx512_prefetch(const uint8_t* p, uint64_t n) {
  __m512i a0 = _mm512_set1_epi64(0), a1 = a0, a2 = a0, a3 = a0;
  uint64_t i = 0;
  for (; i + 256 <= n; i += 256) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 2048), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 2048 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 2048 + 128), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 2048 + 192), _MM_HINT_T0);
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 192));
  }
  a0 = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  return lanes_sum(a0);
}

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, uint64_t n) {
  __m256i a0 = _mm256_set1_epi64x(0), a1 = a0, a2 = a0, a3 = a0;
  uint64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t l[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), a0);
  return l[0] + l[1] + l[2] + l[3];
}

uint64_t sum_sse2(const uint8_t* p, uint64_t n) {
  __m128i a0 = _mm_setzero_si128(), a1 = a0;
  for (uint64_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm_add_epi64(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
    a1 = _mm_add_epi64(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
  }
  a0 = _mm_add_epi64(a0, a1);
  alignas(16) uint64_t l[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(l), a0);
  return l[0] + l[1];
}

using SumFn = uint64_t (*)(const uint8_t*, uint64_t);

struct Reader {
  const char* name;
  SumFn fn;
};

// The readers this CPU can run; the bandwidth is the best of them.
std::vector<Reader> reader_table() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return {{"avx512", sum_avx512}, {"avx512 4 streams", sum_avx512_4streams}, {"avx512 prefetch", sum_avx512_prefetch}};
  if (__builtin_cpu_supports("avx2")) return {{"avx2", sum_avx2}};
  return {{"sse2", sum_sse2}};
}

constexpr uint64_t kSlice = 4u << 20;  // work unit: 4 MiB slices, handed out by the pool

struct PassCtx {
  const uint8_t* data;
  uint64_t bytes;
  SumFn fn;
  std::atomic<uint64_t> sink{0};
};

void run_slices(void* c, int64_t begin, int64_t end) {
  auto* ctx = static_cast<PassCtx*>(c);
  uint64_t s = 0;
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t off = static_cast<uint64_t>(i) * kSlice;
    s += ctx->fn(ctx->data + off, std::min(kSlice, ctx->bytes - off));
  }
  ctx->sink.fetch_add(s, std::memory_order_relaxed);
}

}  // namespace

ReadBandwidth::ReadBandwidth(uint64_t bytes) : bytes_((bytes + kSlice - 1) / kSlice * kSlice) {
  void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<uint8_t*>(p);
  madvise(data_, bytes_, MADV_HUGEPAGE);
  // Touch every page with non-zero bytes (a zero page would be shared and read from cache).
  for (uint64_t i = 0; i < bytes_; i += 4096) std::memset(data_ + i, static_cast<int>(i >> 12) | 1, 4096);
}

ReadBandwidth::~ReadBandwidth() { munmap(data_, bytes_); }

std::vector<std::string> ReadBandwidth::readers() {
  std::vector<std::string> out;
  for (const auto& r : reader_table()) out.push_back(r.name);
  return out;
}

double ReadBandwidth::pass(host::ThreadPool& pool, size_t reader) {
  PassCtx ctx{data_, bytes_, reader_table().at(reader).fn};
  const int64_t slices = static_cast<int64_t>(bytes_ / kSlice);
  const auto t0 = std::chrono::steady_clock::now();
  pool.parallel_for(slices, run_slices, &ctx);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  static std::atomic<uint64_t> keep{0};
  keep.fetch_add(ctx.sink.load());
  return static_cast<double>(bytes_) / s / 1e9;
}

}  // namespace incq::bench
