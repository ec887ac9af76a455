// A fixed pool of worker threads behind the ABI's incq_exec.parallel_for. The host owns it, so a
// plugin never starts threads of its own and the host bounds the total (no oversubscription).
// Several host threads may call parallel_for at once: each call's job goes to the shared queue and
// the calling thread works on its own job too, so a call never waits on an idle pool.
//
// Decode layers are short (tens of microseconds at 16 threads) and come back to back, so the pool
// keeps per-call overhead low: chunks are handed out with an atomic counter (no lock per chunk),
// and an idle worker spins for a while (`spin_us`, default 200 us; INCQ_POOL_SPIN_US overrides)
// before it sleeps on the condition variable. A mutex only guards the job queue itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host {

class ThreadPool {
 public:
  // threads: total including the caller (<= 1 means inline); spin_us < 0: INCQ_POOL_SPIN_US or 200.
  explicit ThreadPool(int threads, int spin_us = -1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  int spin_us() const { return spin_us_; }
  void parallel_for(int64_t n, incq_range_fn fn, void* fn_ctx);
  // An exec table pointing at this pool.
  incq_exec exec();

 private:
  struct Job;
  void worker_loop();
  Job* claim_job();              // a queued job with chunks left, its user count raised; or null
  void finish_chunks(Job* job, int64_t count);

  std::vector<std::thread> workers_;
  int spin_us_ = 200;
  std::mutex mu_;
  std::condition_variable cv_;         // workers sleep here
  std::condition_variable done_cv_;    // callers whose job is still running sleep here
  std::deque<Job*> jobs_;              // guarded by mu_
  std::atomic<uint64_t> epoch_{0};     // bumped whenever a job is queued
  std::atomic<bool> stop_{false};
};

}  // namespace incq::host
