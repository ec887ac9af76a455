#include "int_fast/int_repack.hpp"

#include <algorithm>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "incq/plugin_api.h"

namespace incq::inc_cpu::int_fast {
namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Decode streams the codes once per call. Asks Linux (transparent huge pages in `madvise` mode,
// the distributions' default) for 2 MiB pages on the buffer's 2 MiB-aligned interior before the
// first touch: a code stream then needs a page walk every 2 MiB instead of every 4 KiB, which was
// worth ~5-8 % of single-thread decode time here (notes/profiles/cpu-decode-*.txt). The interior
// only, so no byte outside the buffer becomes resident; a refusal just leaves 4 KiB pages.
void advise_huge_pages(const void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (e > b) (void)madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// Row of a tile that field p of a b-bit dword holds (int_packed_matrix.hpp, "General rule").
int64_t field_row(int b, int p) {
  const int per_byte = 8 / b;
  return 4 * (p % per_byte) + p / per_byte;
}

// Internal row order: rows grouped by scale group (stable), each group padded to k_tile rows.
void plan_rows(const IntWoMatrix& src, IntPackedMatrix& w) {
  const int64_t K = src.K, ng = src.num_groups;
  std::vector<int64_t> count(static_cast<size_t>(ng), 0);
  bool sorted = true;  // rows already appear group by group, in increasing group order
  for (int64_t k = 0; k < K; ++k) {
    const int64_t g = src.group_of(k);
    ++count[static_cast<size_t>(g)];
    if (k > 0 && g < src.group_of(k - 1)) sorted = false;
  }
  w.group_start.assign(static_cast<size_t>(ng + 1), 0);
  bool padded_inside = false;  // padding anywhere but after the last row
  for (int64_t g = 0; g < ng; ++g) {
    const int64_t len = round_up(count[static_cast<size_t>(g)], w.k_tile);
    padded_inside = padded_inside || (len != count[static_cast<size_t>(g)] && g + 1 < ng);
    w.group_start[static_cast<size_t>(g + 1)] = static_cast<int32_t>(w.group_start[static_cast<size_t>(g)] + len);
  }
  w.K_int = w.group_start[static_cast<size_t>(ng)];
  bool long_group = false;
  for (int64_t g = 0; g < ng; ++g)
    long_group = long_group || w.group_start[static_cast<size_t>(g + 1)] - w.group_start[static_cast<size_t>(g)] > kMaxSegmentRows;
  // Without a group longer than a segment, segments are the groups and nothing is stored.
  if (long_group) {
    w.seg_start.assign(1, 0);
    for (int64_t g = 0; g < ng; ++g) {
      const int64_t end = w.group_start[static_cast<size_t>(g + 1)];
      for (int64_t r = w.group_start[static_cast<size_t>(g)]; r < end; r += kMaxSegmentRows) {
        w.seg_start.push_back(static_cast<int32_t>(std::min<int64_t>(r + kMaxSegmentRows, end)));
        w.seg_group.push_back(static_cast<int32_t>(g));
      }
    }
  }
  if (sorted && !padded_inside) return;  // row i is checkpoint row i: x needs no gather
  w.k_source.assign(static_cast<size_t>(w.K_int), -1);
  std::vector<int64_t> next(w.group_start.begin(), w.group_start.end() - 1);
  for (int64_t k = 0; k < K; ++k) {
    const size_t g = static_cast<size_t>(src.group_of(k));
    w.k_source[static_cast<size_t>(next[g]++)] = static_cast<int32_t>(k);
  }
}

}  // namespace

IntPackedMatrix repack_int_matrix(const IntWoMatrix& src) {
  IntPackedMatrix w;
  w.K = src.K;
  w.N = src.N;
  w.bits = src.format.bits;
  w.sym = src.format.sym;
  w.k_tile = tile_rows(w.bits);
  w.num_groups = src.num_groups;
  plan_rows(src, w);

  const int b = w.bits;
  const int64_t N = w.N, ng = w.num_groups, tiles = w.K_int / w.k_tile, dw = tile_dwords(b);
  auto code = [&](int64_t row, int64_t n) -> uint32_t {  // code of internal row (0 for padding)
    const int64_t k = w.k_source.empty() ? (row < w.K ? row : -1) : w.k_source[static_cast<size_t>(row)];
    return k < 0 ? 0u : static_cast<uint32_t>(src.code_at(k, n));
  };
  const size_t n_codes = static_cast<size_t>(tiles * dw * N);
  w.codes.clear();
  w.codes.reserve(n_codes);  // allocated, not yet touched
  advise_huge_pages(w.codes.data(), n_codes * sizeof(uint32_t));
  w.codes.assign(n_codes, 0u);
  for (int64_t s = 0; s < w.num_strips(); ++s) {
    const int64_t width = w.strip_width(s), n0 = s * kStripWidth;
    uint32_t* out = const_cast<uint32_t*>(w.strip_codes(s));
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * w.k_tile;
      for (int64_t j = 0; j < width; ++j) {
        const int64_t n = n0 + j;
        if (b == 3) {
          uint32_t lo0 = 0, lo1 = 0, hi = 0;
          for (int p = 0; p < 16; ++p) {
            lo0 |= (code(r0 + field_row(2, p), n) & 3u) << (2 * p);
            lo1 |= (code(r0 + 16 + field_row(2, p), n) & 3u) << (2 * p);
          }
          for (int p = 0; p < 32; ++p) hi |= ((code(r0 + field_row(1, p), n) >> 2) & 1u) << p;
          out[(t * 3 + 0) * width + j] = lo0;
          out[(t * 3 + 1) * width + j] = lo1;
          out[(t * 3 + 2) * width + j] = hi;
        } else {
          uint32_t word = 0;
          for (int p = 0; p < 32 / b; ++p) word |= code(r0 + field_row(b, p), n) << (b * p);
          out[t * width + j] = word;
        }
      }
    }
  }

  w.scales.assign(static_cast<size_t>(ng * N), 0);
  const size_t zero_bytes = w.sym ? 0 : b == 8 ? static_cast<size_t>(ng * N) : static_cast<size_t>(ng * N + 1) / 2;
  w.zeros.assign(zero_bytes, 0);
  w.zero_offset = src.format.packing == INCQ_PACKING_GPTQ_V1 ? 1 : 0;
  for (int64_t s = 0; s < w.num_strips(); ++s) {
    const int64_t width = w.strip_width(s), n0 = s * kStripWidth;
    for (int64_t g = 0; g < ng; ++g) {
      for (int64_t j = 0; j < width; ++j) {
        const size_t i = static_cast<size_t>(n0 * ng + g * width + j);
        w.scales[i] = src.scales[static_cast<size_t>(g * N + n0 + j)];
        if (w.sym) continue;
        const uint32_t z = static_cast<uint32_t>(src.zero_at(g, n0 + j) - w.zero_offset);  // stored field
        if (b == 8) {
          w.zeros[i] = static_cast<uint8_t>(z);
        } else {
          w.zeros[i / 2] |= static_cast<uint8_t>(z << (4 * (i % 2)));
        }
      }
    }
  }
  w.bias_dtype = src.bias_dtype;
  w.bias = src.bias;
  return w;
}

}  // namespace incq::inc_cpu::int_fast
