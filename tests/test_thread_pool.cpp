// The host's thread pool: every index of every call runs exactly once, whatever the thread count,
// the spin setting (0 = sleep at once, exercising the condition-variable paths), concurrent callers
// and nested calls from inside a chunk.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"

namespace {

using incq::host::ThreadPool;

struct Counts {
  std::vector<std::atomic<int>> hits;
  explicit Counts(int64_t n) : hits(static_cast<size_t>(n)) {}
};

void count_range(void* ctx, int64_t begin, int64_t end) {
  auto* c = static_cast<Counts*>(ctx);
  for (int64_t i = begin; i < end; ++i) c->hits[static_cast<size_t>(i)].fetch_add(1);
}

void expect_each_once(const Counts& c) {
  for (size_t i = 0; i < c.hits.size(); ++i) ASSERT_EQ(c.hits[i].load(), 1) << "index " << i;
}

TEST(ThreadPool, EveryIndexRunsOnceForAnyThreadCountAndSpin) {
  for (int threads : {1, 2, 3, 8}) {
    for (int spin : {0, 200}) {
      ThreadPool pool(threads, spin);
      EXPECT_EQ(pool.threads(), std::max(1, threads));
      for (int64_t n : {1, 2, 7, 64, 1000, 4097}) {
        for (int rep = 0; rep < 20; ++rep) {  // back-to-back calls, as decode layers make them
          Counts c(n);
          pool.parallel_for(n, count_range, &c);
          SCOPED_TRACE("threads " + std::to_string(threads) + " spin " + std::to_string(spin) + " n " +
                       std::to_string(n));
          expect_each_once(c);
        }
      }
    }
  }
}

TEST(ThreadPool, ConcurrentCallersEachGetTheirWholeRange) {
  for (int spin : {0, 200}) {
    ThreadPool pool(4, spin);
    std::vector<std::thread> callers;
    std::atomic<int> bad{0};
    for (int t = 0; t < 6; ++t)
      callers.emplace_back([&, t] {
        for (int rep = 0; rep < 200; ++rep) {
          Counts c(100 + t * 37 + rep % 5);
          pool.parallel_for(static_cast<int64_t>(c.hits.size()), count_range, &c);
          for (const auto& h : c.hits)
            if (h.load() != 1) bad.fetch_add(1);
        }
      });
    for (auto& t : callers) t.join();
    EXPECT_EQ(bad.load(), 0) << "spin " << spin;
  }
}

struct Nested {
  ThreadPool* pool;
  Counts* inner;
  int64_t inner_n;
};

void nested_range(void* ctx, int64_t begin, int64_t end) {
  auto* s = static_cast<Nested*>(ctx);
  for (int64_t i = begin; i < end; ++i) {
    Counts c(s->inner_n);
    s->pool->parallel_for(s->inner_n, count_range, &c);
    for (int64_t j = 0; j < s->inner_n; ++j)
      if (c.hits[static_cast<size_t>(j)].load() == 1) s->inner->hits[static_cast<size_t>(i)].fetch_add(1);
  }
}

TEST(ThreadPool, NestedCallsFromInsideAChunkComplete) {
  ThreadPool pool(3, 50);
  const int64_t outer = 24, inner = 33;
  Counts done(outer);
  Nested s{&pool, &done, inner};
  pool.parallel_for(outer, nested_range, &s);
  for (int64_t i = 0; i < outer; ++i) EXPECT_EQ(done.hits[static_cast<size_t>(i)].load(), inner) << i;
}

TEST(ThreadPool, SpinComesFromTheEnvironmentWhenNotGiven) {
  setenv("INCQ_POOL_SPIN_US", "0", 1);
  EXPECT_EQ(ThreadPool(2).spin_us(), 0);
  setenv("INCQ_POOL_SPIN_US", "junk", 1);
  EXPECT_EQ(ThreadPool(2).spin_us(), 200);
  unsetenv("INCQ_POOL_SPIN_US");
  EXPECT_EQ(ThreadPool(2).spin_us(), 200);
  EXPECT_EQ(ThreadPool(2, 7).spin_us(), 7);
}

}  // namespace
