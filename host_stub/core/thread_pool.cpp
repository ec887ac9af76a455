#include "core/thread_pool.hpp"

#include <algorithm>

namespace incq::host {

struct ThreadPool::Job {
  incq_range_fn fn;
  void* ctx;
  int64_t n;
  int64_t chunk;
  int64_t next = 0;     // next begin index to hand out (guarded by mu_)
  int64_t pending = 0;  // chunks not yet finished (guarded by mu_)
  std::condition_variable done;
};

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

// Takes one chunk of `only` (or of any queued job when only is null) and runs it.
bool ThreadPool::run_one_chunk(Job* only) {
  Job* job = nullptr;
  int64_t begin = 0;
  int64_t end = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (only != nullptr) {
      if (only->next >= only->n) return false;
      job = only;
    } else {
      while (!jobs_.empty() && jobs_.front()->next >= jobs_.front()->n) jobs_.pop_front();
      if (jobs_.empty()) return false;
      job = jobs_.front();
    }
    begin = job->next;
    end = std::min(job->n, begin + job->chunk);
    job->next = end;
  }
  job->fn(job->ctx, begin, end);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (--job->pending == 0) job->done.notify_all();
  }
  return true;
}

void ThreadPool::worker_loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] {
        if (stop_) return true;
        for (Job* j : jobs_)
          if (j->next < j->n) return true;
        return false;
      });
      if (stop_) return;
    }
    run_one_chunk(nullptr);
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
  // A few chunks per thread balances uneven work without much queue traffic.
  const int64_t target = static_cast<int64_t>(threads()) * 4;
  job.chunk = std::max<int64_t>(1, (n + target - 1) / target);
  job.pending = (n + job.chunk - 1) / job.chunk;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(&job);
  }
  cv_.notify_all();
  while (run_one_chunk(&job)) {
  }
  std::unique_lock<std::mutex> lock(mu_);
  job.done.wait(lock, [&] { return job.pending == 0; });
  jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), &job), jobs_.end());
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
