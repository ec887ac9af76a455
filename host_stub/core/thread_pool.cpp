#include "core/thread_pool.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INCQ_CPU_RELAX() _mm_pause()
#else
#define INCQ_CPU_RELAX() std::this_thread::yield()
#endif

namespace incq::host {

struct ThreadPool::Job {
  incq_range_fn fn;
  void* ctx;
  int64_t n;
  int64_t chunk;
  std::atomic<int64_t> next{0};       // next begin index to hand out
  std::atomic<int64_t> remaining{0};  // chunks not yet finished
  std::atomic<int> users{0};          // workers that may still touch this job
};

namespace {

using Clock = std::chrono::steady_clock;

int spin_from_env() {
  const char* v = std::getenv("INCQ_POOL_SPIN_US");
  if (v == nullptr || *v == '\0') return 200;
  char* end = nullptr;
  const long us = std::strtol(v, &end, 10);
  return (end != nullptr && *end == '\0' && us >= 0 && us <= 1000000) ? static_cast<int>(us) : 200;
}

}  // namespace

ThreadPool::ThreadPool(int threads, int spin_us) : spin_us_(spin_us >= 0 ? spin_us : spin_from_env()) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

// Counts chunks finished; the thread finishing the last one wakes a caller asleep on the job.
void ThreadPool::finish_chunks(Job* job, int64_t count) {
  if (count == 0) return;
  if (job->remaining.fetch_sub(count, std::memory_order_acq_rel) == count) {
    // The lock orders the count's store before a sleeping caller's predicate check.
    std::lock_guard<std::mutex> lock(mu_);
    done_cv_.notify_all();
  }
}

ThreadPool::Job* ThreadPool::claim_job() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Job* j : jobs_)
    if (j->next.load(std::memory_order_relaxed) < j->n) {
      j->users.fetch_add(1, std::memory_order_acq_rel);
      return j;
    }
  return nullptr;
}

namespace {

// Takes chunks of job with an atomic counter and runs them; returns how many it ran.
template <class JobT>
int64_t drain(JobT* job) {
  int64_t ran = 0;
  for (;;) {
    const int64_t begin = job->next.fetch_add(job->chunk, std::memory_order_relaxed);
    if (begin >= job->n) return ran;
    job->fn(job->ctx, begin, std::min(job->n, begin + job->chunk));
    ++ran;
  }
}

}  // namespace

void ThreadPool::worker_loop() {
  uint64_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    if (Job* job = claim_job()) {
      const int64_t ran = drain(job);
      finish_chunks(job, ran);
      job->users.fetch_sub(1, std::memory_order_acq_rel);  // last touch of job
      continue;
    }
    // Nothing queued: spin on the epoch for a while, then sleep until a job is queued.
    const auto spin_end = Clock::now() + std::chrono::microseconds(spin_us_);
    bool woke = false;
    while (!stop_.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 64; ++i) INCQ_CPU_RELAX();
      if (epoch_.load(std::memory_order_acquire) != seen) {
        woke = true;
        break;
      }
      if (Clock::now() >= spin_end) break;
    }
    if (stop_.load()) return;
    if (!woke) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_.load() || epoch_.load(std::memory_order_acquire) != seen; });
      if (stop_.load()) return;
    }
    seen = epoch_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(int64_t n, incq_range_fn fn, void* fn_ctx) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(fn_ctx, 0, n);
    return;
  }
  Job job;
  job.fn = fn;
  job.ctx = fn_ctx;
  job.n = n;
  // A few chunks per thread balances uneven work; the atomic hand-out makes small chunks cheap.
  const int64_t target = static_cast<int64_t>(threads()) * 4;
  job.chunk = std::max<int64_t>(1, (n + target - 1) / target);
  job.remaining.store((n + job.chunk - 1) / job.chunk);
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(&job);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
  }
  cv_.notify_all();
  finish_chunks(&job, drain(&job));
  // Wait for the chunks other threads took: spin first (they are usually nearly done), then sleep.
  const auto spin_end = Clock::now() + std::chrono::microseconds(spin_us_);
  while (job.remaining.load(std::memory_order_acquire) != 0 && Clock::now() < spin_end)
    for (int i = 0; i < 16; ++i) INCQ_CPU_RELAX();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return job.remaining.load(std::memory_order_acquire) == 0; });
  // No new worker can claim it once it leaves the queue; wait for those still inside drain().
  jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), &job), jobs_.end());
  lock.unlock();
  while (job.users.load(std::memory_order_acquire) != 0) INCQ_CPU_RELAX();
}

namespace {
void pool_parallel_for(void* pool_ctx, int64_t n, incq_range_fn fn, void* fn_ctx) {
  static_cast<ThreadPool*>(pool_ctx)->parallel_for(n, fn, fn_ctx);
}
}  // namespace

incq_exec ThreadPool::exec() {
  incq_exec e{};
  e.struct_size = sizeof e;
  e.max_threads = threads();
  e.parallel_for = pool_parallel_for;
  e.pool_ctx = this;
  return e;
}

}  // namespace incq::host
