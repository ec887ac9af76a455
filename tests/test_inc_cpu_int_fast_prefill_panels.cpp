// The AVX-512 panel producers of the integer prefill path (int_panel_kernels.hpp) against the
// portable ones (int_panel.cpp), which the prefill differential tests check against the oracle:
// bits 2/3/4/8, sym/asym, GPTQ v1/v2/AWQ, G = 32 / -1 (segments) / act order (padded groups),
// N not a multiple of the strip (narrow last strip) or of the panel (strips past N), K steps at
// several offsets and lengths including the ragged last one, u8 segment ranges of one and several
// segments. Every output byte is checked (buffers start as garbage), and nothing past the panel is
// written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "gemm/panel_layout.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_fast/int_panel.hpp"
#include "int_fast/int_panel_kernels.hpp"
#include "int_fast/int_repack.hpp"
#include "int_fast_test_matrix.hpp"

namespace {

using namespace incq::inc_cpu;
using namespace incq::inc_cpu::int_fast;
using int_fast_test::MatrixCase;

constexpr uint8_t kGarbage = 0xA5;
constexpr size_t kCanary = 256;

bool has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
bool has_avx512bf16() { return has_avx512() && __builtin_cpu_supports("avx512bf16"); }

std::string describe(const MatrixCase& c) {
  return "bits " + std::to_string(c.bits) + " packing " + std::to_string(c.packing) + " G " +
         std::to_string(c.group_size) + (c.sym ? " sym" : " asym") + (c.act_order ? " act-order" : "") + " K " +
         std::to_string(c.K) + " N " + std::to_string(c.N);
}

std::vector<MatrixCase> cases() {
  struct Shape {
    int bits;
    int64_t K, N;
  };
  // N: 48 (2 bits: the second panel's upper strip is past N), 96, 40 (narrow last strip), 20
  // (narrow, and a panel of one strip); K: several groups, > 256 rows for G = -1, not a tile
  // multiple for 8 bits (padding rows at the end).
  const Shape shapes[] = {{2, 160, 48}, {3, 320, 96}, {4, 576, 40}, {8, 164, 20}, {4, 600, 104}};
  std::vector<MatrixCase> out;
  for (const Shape& s : shapes)
    for (int packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2})
      for (bool sym : {true, false})
        for (int grouping = 0; grouping < 3; ++grouping) {
          MatrixCase c;
          c.bits = s.bits;
          c.packing = packing;
          c.sym = sym;
          c.K = s.K;
          c.N = s.N;
          c.group_size = grouping == 1 ? -1 : 32;
          c.act_order = grouping == 2;
          out.push_back(c);
        }
  for (bool sym : {true, false}) {
    MatrixCase c;
    c.bits = 4;
    c.packing = INCQ_PACKING_AWQ;
    c.sym = sym;
    c.K = 68;
    c.N = 24;
    c.act_order = true;
    out.push_back(c);
  }
  return out;
}

// K steps the bf16 GEMM driver asks for (k0 multiples of kc, kc multiple of 32, last one ragged)
// and a few more at other offsets / lengths that are still whole tiles.
std::vector<std::pair<int64_t, int64_t>> k_steps(const IntPackedMatrix& w) {
  const int64_t kp = gemm::bf16_padded_k(w.K_int);
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t kc : {int64_t{32}, int64_t{64}, int64_t{256}})
    for (int64_t k0 = 0; k0 < kp; k0 += kc) out.emplace_back(k0, std::min(kc, kp - k0));
  out.emplace_back(0, kp);
  out.emplace_back(w.k_tile, 3 * w.k_tile);
  return out;
}

TEST(IntFastPrefillPanels, Bf16Avx512Bf16MatchesPortable) {
  if (!has_avx512bf16()) GTEST_SKIP() << "CPU lacks AVX512-BF16";
  uint32_t seed = 11;
  for (const MatrixCase& c : cases()) {
    const IntPackedMatrix w = repack_int_matrix(int_fast_test::make_matrix(c, seed++));
    for (int64_t nb : {int64_t{32}, int64_t{64}})
      for (int64_t n0 = 0; n0 < gemm::padded_cols(w.N); n0 += 32)
        for (auto [k0, kc] : k_steps(w)) {
          const size_t elems = static_cast<size_t>((kc + 1) / 2 * nb * 2);
          std::vector<uint16_t> want(elems + kCanary), got(elems + kCanary);
          std::memset(want.data(), kGarbage, want.size() * 2);
          std::memset(got.data(), kGarbage, got.size() * 2);
          produce_bf16_panel_scalar(w, n0, nb, k0, kc, want.data());
          produce_bf16_panel_avx512bf16(w, n0, nb, k0, kc, got.data());
          for (size_t i = 0; i < want.size(); ++i) {
            // Bit-identical (signed zeros included), every element written, nothing past the panel.
            ASSERT_EQ(want[i], got[i]) << describe(c) << " n0 " << n0 << " nb " << nb << " k0 " << k0 << " kc "
                                       << kc << " element " << i << " of " << elems;
          }
        }
  }
}

TEST(IntFastPrefillPanels, F32Avx512MatchesPortable) {
  if (!has_avx512()) GTEST_SKIP() << "CPU lacks AVX-512";
  uint32_t seed = 37;
  for (const MatrixCase& c : cases()) {
    const IntPackedMatrix w = repack_int_matrix(int_fast_test::make_matrix(c, seed++));
    for (int64_t nb : {int64_t{32}, int64_t{64}})
      for (int64_t n0 = 0; n0 < gemm::padded_cols(w.N); n0 += 32)
        for (auto [k0, kc] : k_steps(w)) {
          const size_t elems = static_cast<size_t>(kc * nb);
          std::vector<uint32_t> want(elems + kCanary), got(elems + kCanary);  // float bits
          std::memset(want.data(), kGarbage, want.size() * 4);
          std::memset(got.data(), kGarbage, got.size() * 4);
          produce_f32_panel_scalar(w, n0, nb, k0, kc, reinterpret_cast<float*>(want.data()));
          produce_f32_panel_avx512(w, n0, nb, k0, kc, reinterpret_cast<float*>(got.data()));
          for (size_t i = 0; i < want.size(); ++i)
            ASSERT_EQ(want[i], got[i]) << describe(c) << " n0 " << n0 << " nb " << nb << " k0 " << k0 << " kc " << kc
                                       << " element " << i << " of " << elems;
        }
  }
}

TEST(IntFastPrefillPanels, U8Avx512MatchesPortable) {
  if (!has_avx512()) GTEST_SKIP() << "CPU lacks AVX-512";
  uint32_t seed = 23;
  for (const MatrixCase& c : cases()) {
    const IntPackedMatrix w = repack_int_matrix(int_fast_test::make_matrix(c, seed++));
    const int64_t ns = w.num_segments();
    // One segment, two, and all of them (the int8 driver's K steps cover whole segments).
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int64_t s = 0; s < ns; ++s) ranges.emplace_back(w.seg_begin(s), w.seg_begin(s + 1));
    if (ns >= 3) ranges.emplace_back(w.seg_begin(1), w.seg_begin(3));
    ranges.emplace_back(0, w.seg_begin(ns));
    for (int64_t nb : {int64_t{32}, int64_t{64}})
      for (int64_t n0 = 0; n0 < gemm::padded_cols(w.N); n0 += 32)
        for (auto [r0, r1] : ranges) {
          const size_t bytes = static_cast<size_t>((r1 - r0) * nb);
          std::vector<uint8_t> want(bytes + kCanary, kGarbage), got(bytes + kCanary, kGarbage);
          produce_u8_rows_panel_scalar(w, n0, nb, r0, r1, want.data());
          produce_u8_rows_panel_avx512(w, n0, nb, r0, r1, got.data());
          ASSERT_EQ(want, got) << describe(c) << " n0 " << n0 << " nb " << nb << " rows " << r0 << ".." << r1;
        }
    for (int64_t g = 0; g < w.num_groups; ++g)
      for (int64_t n0 = 0; n0 < gemm::padded_cols(w.N); n0 += 32) {
        std::vector<float> ws(64 + 16, -1.0f), gs(64 + 16, -1.0f);
        std::vector<int32_t> wz(64 + 16, -1), gz(64 + 16, -1);
        produce_group_params_scalar(w, n0, 64, g, ws.data(), wz.data());
        produce_group_params_avx512(w, n0, 64, g, gs.data(), gz.data());
        ASSERT_EQ(ws, gs) << describe(c) << " group " << g << " n0 " << n0;
        ASSERT_EQ(wz, gz) << describe(c) << " group " << g << " n0 " << n0;
      }
  }
}

// The dispatching producers take the vector path only where its preconditions hold and otherwise
// still produce the portable result (here: k0 or the step length not a tile multiple).
TEST(IntFastPrefillPanels, DispatchOutsideTheVectorDomain) {
  MatrixCase c;
  c.bits = 4;
  c.sym = false;
  c.K = 96;
  c.N = 40;
  const IntPackedMatrix w = repack_int_matrix(int_fast_test::make_matrix(c, 5));
  struct Call {
    int64_t n0, nb, k0, kc;
  };
  for (const Call& k : {Call{0, 32, 4, 36}, Call{0, 48, 0, 96}, Call{16, 32, 8, 20}}) {
    const size_t elems = static_cast<size_t>((k.kc + 1) / 2 * k.nb * 2);
    std::vector<uint16_t> want(elems), got(elems);
    produce_bf16_panel_scalar(w, k.n0, k.nb, k.k0, k.kc, want.data());
    produce_bf16_panel(w, k.n0, k.nb, k.k0, k.kc, got.data());
    for (size_t i = 0; i < elems; ++i)
      ASSERT_EQ(want[i], got[i]) << "n0 " << k.n0 << " nb " << k.nb << " k0 " << k.k0 << " kc " << k.kc << " element " << i;
  }
}

}  // namespace
