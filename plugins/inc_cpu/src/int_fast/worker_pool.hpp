// inc_cpu's own intra-op threads, used only when the host lends no parallel_for. One process-wide
// pool of (plugin option max_threads - 1) workers is shared by every apply call: a call borrows
// whichever workers are idle (at most its exec.max_threads - 1) and runs the rest on its own
// thread, so concurrent apply calls from several host threads never start more threads than the
// budget — they just get fewer helpers each (no oversubscription, no waiting for workers).
// Running a job allocates nothing: the job lives on the caller's stack.
#ifndef INCQ_INC_CPU_INT_FAST_WORKER_POOL_HPP
#define INCQ_INC_CPU_INT_FAST_WORKER_POOL_HPP

#include <atomic>
#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::inc_cpu::int_fast {

// (Re)starts the pool with budget - 1 workers (budget >= 1). Serial: plugin initialize only.
void start_worker_pool(int budget);
// Joins every worker. Serial: plugin shutdown only.
void stop_worker_pool();
// The thread budget start_worker_pool was given (1 before it ran).
int worker_pool_budget();
// Most pool workers ever busy at once since start (tests check it never exceeds budget - 1).
int worker_pool_peak_busy();

using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);

// Runs fn over [0, n) in chunks: through exec->parallel_for when the host lends it, else on the
// calling thread plus up to min(exec->max_threads, budget) - 1 idle pool workers.
void run_parallel(const incq_exec* exec, int64_t n, RangeFn fn, void* ctx);

// Convenience for a callable body(i); body must not throw.
template <typename Body>
void parallel_for_each(const incq_exec* exec, int64_t n, Body& body) {
  run_parallel(exec, n,
               [](void* ctx, int64_t b, int64_t e) {
                 Body& f = *static_cast<Body*>(ctx);
                 for (int64_t i = b; i < e; ++i) f(i);
               },
               &body);
}

}  // namespace incq::inc_cpu::int_fast

#endif
