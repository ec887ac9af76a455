// Weight panel layouts consumed by the prefill GEMM microkernels (src/gemm/). A panel holds 32 output
// channels (columns n of W^T, W being [N][K]) for a run of K, interleaved so that one 64-byte load gives
// the 16 columns x (2 bf16 | 4 int8) that one vdpbf16ps / vpdpbusd lane consumes. The same bytes are
// AMX B tiles: rows of 64 bytes at a stride of 128 bytes, columns 0-15 at +0 and 16-31 at +64.
//
// bf16 panel ("32x c2"): element (n, k) of a panel at  (k / 2) * 64 + (n % 32) * 2 + (k % 2)   [uint16]
// u8 panel   ("32x c4"): element (n, k) of a panel at  (k / 4) * 128 + (n % 32) * 4 + (k % 4)  [uint8]
// f32 panel  ("32x"):    element (n, k) of a panel at  k * 32 + (n % 32)                     [float]
// These are exactly int_fast/int_panel.hpp's panels (cpu-int's producers) with nb = 32: the bf16 one
// for any k0, kc; the u8 one holds unsigned weight codes q (w = scale * (q - zero)) group after group,
// so the int8 kernels take signed activation codes and unsigned weight codes (vpdpbusd / tdpbsud)
// and subtract zero * (sum of the activation codes of the group) — exact, no compensation tables.
// Columns >= N and rows >= K are zero (a zero weight contributes nothing, the kernels never mask B).
// A block of columns [n0, n0 + nc) x K rows [k0, k0 + kc) is nc / 32 such panels, each at
// `panel_stride` bytes from the previous one; a run of K inside a panel is contiguous, so a resident,
// fully packed matrix serves any (n0, k0) block by pointer arithmetic alone (panel_stride = Kp * 64).
#ifndef INCQ_INC_CPU_GEMM_PANEL_LAYOUT_HPP
#define INCQ_INC_CPU_GEMM_PANEL_LAYOUT_HPP

#include <cstddef>
#include <cstdint>

namespace incq::inc_cpu::gemm {

inline constexpr int64_t kPanelCols = 32;
// K is padded to these multiples so that AMX tiles (32 bf16 / 64 int8 per row) never need a tail.
inline constexpr int64_t kBf16KAlign = 32;
inline constexpr int64_t kS8KAlign = 64;

inline constexpr int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline constexpr int64_t padded_cols(int64_t N) { return round_up(N, kPanelCols); }
inline constexpr int64_t bf16_padded_k(int64_t K) { return round_up(K, kBf16KAlign); }
inline constexpr int64_t bf16_panel_offset(int64_t n, int64_t k) {  // in uint16 elements
  return (k / 2) * 64 + (n % kPanelCols) * 2 + (k % 2);
}
inline constexpr int64_t f32_panel_offset(int64_t n, int64_t k) { return k * kPanelCols + n % kPanelCols; }
inline constexpr int64_t u8_panel_offset(int64_t n, int64_t k) {  // in bytes
  return (k / 4) * 128 + (n % kPanelCols) * 4 + (k % 4);
}

// A block of panels handed to a kernel: `data` points at k0 of the first panel.
struct PanelBlock {
  const void* data;
  int64_t panel_stride;  // bytes from panel j to panel j + 1
};

// Where the blocked drivers get weights from: either a resident fully packed matrix (return a pointer
// into it) or a producer that decodes the block [n0, n0 + nc) x [k0, k0 + kc) into `buf` (capacity
// nc * kc elements, rows >= K / columns >= N zero-filled) and returns {buf, kc * 32 * element size}.
// nc is a multiple of 32; k0 and kc are multiples of 32. Called concurrently from several threads
// with different `buf`; must not throw or allocate.
struct PanelSource {
  PanelBlock (*get)(const void* ctx, int64_t n0, int64_t nc, int64_t k0, int64_t kc, void* buf);
  const void* ctx;
};

// int8 weights: the u8 code panels of groups [g0, g1) for columns [n0, n0 + nc), plus those groups'
// per-column scale (fp32) and zero (int32) as [g1 - g0][nc] rows (0 past N). A resident source may
// point into its own storage; a decoding one writes `buf` (nc * rows of the groups bytes),
// `scale_buf` and `zero_buf` ((g1 - g0) * nc each). zero may be null (all zeros 0).
struct Qu8Block {
  const uint8_t* data;
  int64_t panel_stride;  // bytes from panel j to panel j + 1
  const float* scale;
  const int32_t* zero;
  int64_t ld;  // floats / ints from one group's row to the next
};
struct Qu8PanelSource {
  Qu8Block (*get)(const void* ctx, int64_t n0, int64_t nc, int64_t g0, int64_t g1, uint8_t* buf,
                  float* scale_buf, int32_t* zero_buf);
  const void* ctx;
};

// Packs dense weights W [N][K] (row stride ldw) into panels of padded size padded_cols(N) x Kp.
// `out` holds padded_cols(N) * Kp elements; Kp is a multiple of the layout's pair/quad.
void pack_bf16_panels_from_f32(const float* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint16_t* out);
void pack_bf16_panels_from_bf16(const uint16_t* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint16_t* out);
void pack_u8_panels(const uint8_t* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint8_t* out);

// A resident, fully packed matrix as a PanelSource (ctx = the packed matrix description below).
struct PackedPanels {
  const void* data;
  int64_t Kp;
  int64_t element_bytes;  // 2 for bf16, 1 for u8
};
PanelSource resident_panels(const PackedPanels* packed);

// A resident, fully packed u8 matrix with [num_groups][ld] scales and zeros (zero may be null).
struct PackedQu8 {
  const uint8_t* data;
  int64_t Kp;
  const int64_t* group_start;
  const float* scale;
  const int32_t* zero;
  int64_t ld;
};
Qu8PanelSource resident_qu8_panels(const PackedQu8* packed);

}  // namespace incq::inc_cpu::gemm

#endif
