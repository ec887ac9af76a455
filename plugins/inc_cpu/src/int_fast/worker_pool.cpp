#include "int_fast/worker_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace incq::inc_cpu::int_fast {
namespace {

struct Job {
  RangeFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int> pending{0};  // workers still attached
};

// Items are handed out one at a time: work items are column blocks of similar cost.
void drain(Job& job) {
  for (int64_t i = job.next.fetch_add(1); i < job.n; i = job.next.fetch_add(1)) job.fn(job.ctx, i, i + 1);
}

struct Worker {
  std::mutex m;
  std::condition_variable cv;
  Job* job = nullptr;
  bool stop = false;
  std::thread thread;
};

struct Pool {
  std::mutex m;  // guards idle
  std::vector<Worker*> idle;  // capacity reserved at start: push/pop never allocate
  std::vector<std::unique_ptr<Worker>> workers;
  int budget = 1;
  std::atomic<int> busy{0};
  std::atomic<int> peak{0};

  void stop_all() {
    for (auto& w : workers) {
      {
        std::lock_guard<std::mutex> lock(w->m);
        w->stop = true;
      }
      w->cv.notify_one();
      w->thread.join();
    }
    workers.clear();
    idle.clear();
    budget = 1;
  }
  // A host that never calls shutdown (or exits with the plugin loaded) must not hit
  // std::terminate on joinable threads when this static is destroyed.
  ~Pool() { stop_all(); }
};

Pool& pool() {
  static Pool p;
  return p;
}

void worker_main(Worker* w) {
  Pool& p = pool();
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(w->m);
      w->cv.wait(lock, [&] { return w->job != nullptr || w->stop; });
      if (w->stop) return;
      job = w->job;
    }
    drain(*job);
    {
      std::lock_guard<std::mutex> lock(w->m);
      w->job = nullptr;
    }
    p.busy.fetch_sub(1);
    {
      std::lock_guard<std::mutex> lock(p.m);
      p.idle.push_back(w);
    }
    job->pending.fetch_sub(1, std::memory_order_release);  // last touch of the caller's job
  }
}

}  // namespace

void start_worker_pool(int budget) {
  stop_worker_pool();
  Pool& p = pool();
  p.budget = std::max(1, budget);
  p.peak = 0;
  p.idle.reserve(static_cast<size_t>(p.budget));
  for (int i = 0; i + 1 < p.budget; ++i) {
    p.workers.push_back(std::make_unique<Worker>());
    Worker* w = p.workers.back().get();
    p.idle.push_back(w);
    w->thread = std::thread(worker_main, w);
  }
}

void stop_worker_pool() { pool().stop_all(); }

int worker_pool_budget() { return pool().budget; }
int worker_pool_peak_busy() { return pool().peak.load(); }

void run_parallel(const incq_exec* exec, int64_t n, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  const bool host_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  if (host_pool && n > 1) {
    exec->parallel_for(exec->pool_ctx, n, fn, ctx);
    return;
  }
  int wanted = INCQ_HAS_FIELD(exec, incq_exec, max_threads) ? exec->max_threads : 1;
  Pool& p = pool();
  wanted = std::min<int64_t>(std::min(wanted, p.budget), n);
  if (wanted <= 1) {
    fn(ctx, 0, n);
    return;
  }
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  Worker* helpers[256];
  int got = 0;
  {
    std::lock_guard<std::mutex> lock(p.m);
    while (got < wanted - 1 && got < 256 && !p.idle.empty()) {
      helpers[got++] = p.idle.back();
      p.idle.pop_back();
    }
  }
  job.pending.store(got);
  if (got > 0) {
    const int now = p.busy.fetch_add(got) + got;
    for (int seen = p.peak.load(); now > seen && !p.peak.compare_exchange_weak(seen, now);) {
    }
  }
  for (int i = 0; i < got; ++i) {
    {
      std::lock_guard<std::mutex> lock(helpers[i]->m);
      helpers[i]->job = &job;
    }
    helpers[i]->cv.notify_one();
  }
  drain(job);
  while (job.pending.load(std::memory_order_acquire) > 0) std::this_thread::yield();
}

}  // namespace incq::inc_cpu::int_fast
