// Dense packers into the panel layouts of panel_layout.hpp (process-time only; baseline ISA).
#include <cstring>

#include "gemm/panel_layout.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu::gemm {
namespace {

template <typename Out, typename Get>
void pack_panels(int64_t N, int64_t K, int64_t Kp, int64_t kgroup, Out* out, Get get) {
  const int64_t Np = padded_cols(N);
  std::memset(out, 0, static_cast<size_t>(Np * Kp) * sizeof(Out));
  for (int64_t n = 0; n < N; ++n) {
    Out* panel = out + (n / kPanelCols) * kPanelCols * Kp;
    for (int64_t k = 0; k < K; ++k)
      panel[(k / kgroup) * kPanelCols * kgroup + (n % kPanelCols) * kgroup + k % kgroup] = get(n, k);
  }
}

PanelBlock resident_get(const void* ctx, int64_t n0, int64_t, int64_t k0, int64_t, void*) {
  const auto* p = static_cast<const PackedPanels*>(ctx);
  const int64_t panel_stride = p->Kp * kPanelCols * p->element_bytes;
  const auto* base = static_cast<const char*>(p->data);
  return {base + (n0 / kPanelCols) * panel_stride + k0 * kPanelCols * p->element_bytes, panel_stride};
}

Qu8Block resident_qu8_get(const void* ctx, int64_t n0, int64_t, int64_t g0, int64_t, uint8_t*, float*,
                          int32_t*) {
  const auto* p = static_cast<const PackedQu8*>(ctx);
  const int64_t panel_stride = p->Kp * kPanelCols;
  const int64_t off = g0 * p->ld + n0;
  return {p->data + (n0 / kPanelCols) * panel_stride + p->group_start[g0] * kPanelCols, panel_stride,
          p->scale + off, p->zero != nullptr ? p->zero + off : nullptr, p->ld};
}

}  // namespace

void pack_bf16_panels_from_f32(const float* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint16_t* out) {
  pack_panels(N, K, Kp, 2, out, [&](int64_t n, int64_t k) { return float_to_bf16(w[n * ldw + k]); });
}

void pack_bf16_panels_from_bf16(const uint16_t* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint16_t* out) {
  pack_panels(N, K, Kp, 2, out, [&](int64_t n, int64_t k) { return w[n * ldw + k]; });
}

void pack_u8_panels(const uint8_t* w, int64_t N, int64_t K, int64_t ldw, int64_t Kp, uint8_t* out) {
  pack_panels(N, K, Kp, 4, out, [&](int64_t n, int64_t k) { return w[n * ldw + k]; });
}

PanelSource resident_panels(const PackedPanels* packed) { return {resident_get, packed}; }

}  // namespace incq::inc_cpu::gemm

namespace incq::inc_cpu::gemm {
Qu8PanelSource resident_qu8_panels(const PackedQu8* packed) { return {resident_qu8_get, packed}; }
}  // namespace incq::inc_cpu::gemm
