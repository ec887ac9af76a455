// Runs work item i in [0, n) through the host's pool when it lends one, else serially here.
#ifndef INCQ_INC_CPU_COLUMN_BLOCKS_HPP
#define INCQ_INC_CPU_COLUMN_BLOCKS_HPP

#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::inc_cpu {

// `body(i)` must not throw: it runs on the host's threads, behind a C function pointer.
template <typename Body>
void for_each_block(const incq_exec* exec, int64_t n, Body& body) {
  const bool has_pool = INCQ_HAS_FIELD(exec, incq_exec, pool_ctx) && exec->parallel_for != nullptr;
  if (!has_pool || n <= 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  auto range = [](void* ctx, int64_t begin, int64_t end) {
    Body& b = *static_cast<Body*>(ctx);
    for (int64_t i = begin; i < end; ++i) b(i);
  };
  exec->parallel_for(exec->pool_ctx, n, range, &body);
}

}  // namespace incq::inc_cpu

#endif
