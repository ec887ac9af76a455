#include "moe_fast/moe_fast_int.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "int_fast/int_repack.hpp"

namespace incq::inc_cpu {
namespace {

// Every expert projection is its own ~1 MiB code buffer (H 2048, I 1024, 4-bit), too small for the
// 2 MiB-aligned interior that repack_int_matrix advises for huge pages, so a decode call that
// touches 8 experts x 3 projections walked 4 KiB pages: a page walk every 4 KiB of each short
// strip stream. The buffers of one layer lie mostly back to back in the address space (one mmap
// each, adjacent), so after repacking, the 2 MiB-aligned interiors of the runs of nearly adjacent
// buffers are collapsed into huge pages (MADV_COLLAPSE, Linux >= 6.1, synchronous; independent of
// the THP sysfs mode except `never`). The gaps it also makes resident are the few KiB between
// buffers (malloc headers) — well inside the resident budget. A refusal just leaves 4 KiB pages.
void collapse_expert_codes(const IntFastExperts& f) {
#if defined(__linux__)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
  std::vector<std::pair<uintptr_t, uintptr_t>> r;
  auto add = [&](const IntExpertMatrix& m) {
    if (m.w.codes.empty()) return;
    const uintptr_t b = reinterpret_cast<uintptr_t>(m.w.codes.data());
    r.emplace_back(b, b + m.w.codes.size() * sizeof(uint32_t));
  };
  for (size_t e = 0; e < f.gate.size(); ++e) {
    add(f.gate[e]);
    add(f.up[e]);
    add(f.down[e]);
  }
  std::sort(r.begin(), r.end());
  constexpr uintptr_t kHuge = uintptr_t{1} << 21, kMaxGap = uintptr_t{64} << 10;
  auto collapse = [&](uintptr_t b, uintptr_t e) {
    b = (b + kHuge - 1) & ~(kHuge - 1);
    e &= ~(kHuge - 1);
    // One huge page per call: a chunk the kernel refuses (a hole between mappings) leaves the
    // others collapsed.
    for (uintptr_t c = b; c < e; c += kHuge) (void)madvise(reinterpret_cast<void*>(c), kHuge, MADV_COLLAPSE);
  };
  for (size_t i = 0; i < r.size();) {
    uintptr_t b = r[i].first, e = r[i].second;
    size_t j = i + 1;
    for (; j < r.size() && r[j].first >= e && r[j].first - e <= kMaxGap; ++j) e = std::max(e, r[j].second);
    collapse(b, e);
    i = j;
  }
#else
  (void)f;
#endif
}

}  // namespace

IntFastExperts int_experts_from_ref(const IntWoExperts& ex, int_fast::ComputeType ct) {
  IntFastExperts f;
  f.num_experts = ex.num_experts;
  f.hidden = ex.hidden;
  f.intermediate = ex.intermediate;
  const int_fast::IntKernels k = int_fast::select_int_kernels();
  auto one = [&](const IntWoMatrix& m) { return IntExpertMatrix{int_fast::repack_int_matrix(m), k, ct}; };
  for (size_t e = 0; e < ex.gate.size(); ++e) {
    f.gate.push_back(one(ex.gate[e]));
    f.up.push_back(one(ex.up[e]));
    f.down.push_back(one(ex.down[e]));
  }
  collapse_expert_codes(f);
  return f;
}

}  // namespace incq::inc_cpu
