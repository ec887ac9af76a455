// The one internal layout of every integer weight matrix inc_cpu's fast paths run on, whatever the
// checkpoint packing (GPTQ v1/v2, AWQ), bit width (2/3/4/8), symmetry or act-order.
//
// Internal K order: rows are sorted by their group (stable), so every group is one contiguous K
// range; each group's range is padded to a multiple of the tile depth k_tile with rows whose
// activation is 0 (k_source = -1). Without g_idx (or with the trivial one) and with k_tile | G the
// internal order is the checkpoint's (rows past K, when K is not a multiple of k_tile, are padding
// at the end and need no k_source either). Callers gather x into internal order
// (gather_x_internal) when `k_source` is non-empty.
//
// Codes: columns are cut into strips of 16 (the last one narrower: no column padding, so resident
// bytes stay at the checkpoint's). A strip stores its K_int rows as tiles of k_tile rows; a tile is
// `tile_dwords` vectors of w (strip width) dwords, one dword per column, holding that column's
// k_tile codes of the tile:
//   bits 8: k_tile 4,  1 dword:  byte i = code of row 4*0 + i
//   bits 4: k_tile 8,  1 dword:  nibble field p (bits 4p..4p+3) = row 4*(p%2) + p/2
//   bits 2: k_tile 16, 1 dword:  field p (bits 2p..2p+1)        = row 4*(p%4) + p/4
//   bits 3: k_tile 32, 3 dwords: dword 0 = low 2 bits of rows 0..15 (as bits 2), dword 1 = low 2
//           bits of rows 16..31, dword 2 = high bit of rows 0..31, bit p = row 4*(p%8) + p/8.
// General rule: a field of width b at bit b*p of a dword holds row 4*(p % (8/b)) + p / (8/b), so
// (dword >> (b*s)) & mask-per-byte yields four u8 codes of rows 4s..4s+3 — exactly the
// [K/4][N][4] u8 operand vpdpbusd / AMX TDPBSUD take — and each single field is one row's code for
// an fp32 broadcast-FMA kernel. Codes are the raw stored codes q (unsigned); w = scale * (q - zero).
//
// Scales: fp16 as stored, [strip][group][w]. Zeros (asymmetric only): [strip][group][w], the
// checkpoint's stored field (a byte for 8 bits, a nibble — low first — otherwise) and
// zero = field + zero_offset (1 for GPTQ v1, which stores zero-1, else 0), so zeros take no more
// room than the checkpoint's qzeros (at most a nibble for 2/3-bit ones). Symmetric layers keep no
// zeros (zero = 2^(bits-1)).
#ifndef INCQ_INC_CPU_INT_FAST_INT_PACKED_MATRIX_HPP
#define INCQ_INC_CPU_INT_FAST_INT_PACKED_MATRIX_HPP

#include <cstdint>
#include <vector>

namespace incq::inc_cpu::int_fast {

constexpr int64_t kStripWidth = 16;  // columns per strip: one zmm of fp32 / int32 lanes
// Kernels sum at most this many rows in fp32 before scaling into y: a group longer than this (up to
// all of K when G = -1) is cut into segments, so the fp32 error bound stays (256 + #segments + 3)u
// instead of growing with K (docs/compute_modes.md). A multiple of every tile depth.
constexpr int64_t kMaxSegmentRows = 256;

// Rows per tile and dwords per tile column for a bit width (2, 3, 4, 8).
constexpr int64_t tile_rows(int bits) { return bits == 3 ? 32 : 32 / bits; }
constexpr int64_t tile_dwords(int bits) { return bits == 3 ? 3 : 1; }

struct IntPackedMatrix {
  int64_t K = 0;  // checkpoint in_features
  int64_t N = 0;
  int bits = 0;
  bool sym = true;
  int64_t k_tile = 0;      // tile_rows(bits)
  int64_t K_int = 0;       // internal rows, >= K (padding), multiple of k_tile
  int64_t num_groups = 0;  // scale/zero groups (rows of the checkpoint's scales)
  int32_t zero_offset = 0; // zero = stored field + zero_offset (GPTQ v1: 1)
  std::vector<int32_t> group_start;  // [num_groups + 1] internal row where group g starts
  // Groups cut to <= kMaxSegmentRows rows: [num_segments + 1] starts and [num_segments] groups.
  // Both empty when no group is that long (segments are the groups): nothing resident is spent.
  std::vector<int32_t> seg_start;
  std::vector<int32_t> seg_group;
  std::vector<int32_t> k_source;     // [K_int] checkpoint row of internal row, -1 = padding;
                                     // empty: row i is checkpoint row i (i < K), padding after
  std::vector<uint32_t> codes;       // strips, each [K_int / k_tile][tile_dwords][w]
  std::vector<uint16_t> scales;      // fp16 bits, [strip][group][w]
  std::vector<uint8_t> zeros;        // asymmetric only, see above
  int32_t bias_dtype = 0;            // incq_dtype of the bias, 0 = none
  std::vector<uint8_t> bias;         // [N] the checkpoint's bias bytes (decoded on use)

  int64_t num_segments() const {
    return seg_group.empty() ? num_groups : static_cast<int64_t>(seg_group.size());
  }
  int64_t seg_begin(int64_t sg) const { return seg_group.empty() ? group_start[sg] : seg_start[sg]; }
  int64_t seg_group_of(int64_t sg) const { return seg_group.empty() ? sg : seg_group[sg]; }
  int64_t num_strips() const { return (N + kStripWidth - 1) / kStripWidth; }
  int64_t strip_width(int64_t s) const {
    return N - s * kStripWidth < kStripWidth ? N - s * kStripWidth : kStripWidth;
  }
  // First code dword of strip s (full strips before it have width 16).
  const uint32_t* strip_codes(int64_t s) const {
    return codes.data() + s * kStripWidth * (K_int / k_tile) * tile_dwords(bits);
  }
  const uint16_t* strip_scales(int64_t s) const {
    return scales.data() + s * kStripWidth * num_groups;
  }
  // The zero point of column n in group g (2^(bits-1) when symmetric).
  int32_t zero_at(int64_t g, int64_t n) const;
  // bias[n] as fp32 (F16/BF16/F32 values are exact in fp32); 0 without bias.
  float bias_at(int64_t n) const;
  // Bytes this matrix keeps resident.
  uint64_t resident_bytes() const;
};

// x_int[i] = x[k_source[i]] (0 for padding); identity copy when k_source is empty. x_int holds
// K_int values. The caller supplies both buffers (no allocation).
void gather_x_internal(const IntPackedMatrix& w, const float* x, float* x_int);

}  // namespace incq::inc_cpu::int_fast

#endif
