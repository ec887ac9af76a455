// A fixed pool of worker threads behind the ABI's incq_exec.parallel_for. The host owns it, so a
// plugin never starts threads of its own and the host bounds the total (no oversubscription).
// Several host threads may call parallel_for at once: each call's chunks go to the shared queue and
// the calling thread works on its own chunks too, so a call never waits on an idle pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total threads including the caller; <= 1 means inline
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, incq_range_fn fn, void* fn_ctx);
  // An exec table pointing at this pool.
  incq_exec exec();

 private:
  struct Job;
  void worker_loop();
  bool run_one_chunk(Job* only);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> jobs_;
  bool stop_ = false;
};

}  // namespace incq::host
