// inc_xpu's split-K GEMV (kernels_cl/int_wo_gemv_Rx128_splitk.cl) against the double-precision
// oracle: 2/4/8 bits, sym/asym, GPTQ v1/v2/AWQ, groups of 32/128/one, M = 1..16 (its 1-, 4- and
// 16-row variants), K that the split does not divide (the last work-group's range is partial, K not
// a multiple of 32), N not a multiple of the 128-column tile, f32/bf16/f16 activations, bias, one
// to several warps per work-group and many splits (the single-launch finish: partials, per-tile
// counters re-armed for the next launch), and the layers it does not apply to falling back.
#include <gtest/gtest.h>

#include <cstring>

#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

using abi_test::IntScheme;

// Adds an f32 bias [N] to the case (values k/8, exact) and to the oracle's answer.
void add_bias(abi_test::LayerCase& c) {
  const int64_t N = c.out_width;
  host::quant::PackedTensor b{"bias", INCQ_DTYPE_F32, {N}, std::vector<uint8_t>(static_cast<size_t>(N) * 4)};
  for (int64_t n = 0; n < N; ++n) {
    const float v = static_cast<float>(n % 7 - 3) * 0.125f;
    std::memcpy(b.bytes.data() + n * 4, &v, 4);
    for (int64_t m = 0; m < c.rows; ++m) c.expected[static_cast<size_t>(m * N + n)] += v;
  }
  c.tensors.push_back({"bias", b});
  c.fields.has_bias = 1;
}

host::OptionMap gemv_on(int warps, int kblocks) {
  return {{"gemv", "on"}, {"gemv_warps", std::to_string(warps)}, {"gemv_kblocks", std::to_string(kblocks)}};
}

TEST(XpuIntGemvSplitK, BitsSymPackingGroupsRowsSplits) {
  uint32_t seed = 300;
  for (int bits : {2, 4, 8})
    for (bool sym : {true, false})
      for (int group : {32, 128, -1}) {
        const incq_packing packing = sym ? INCQ_PACKING_GPTQ_V1 : INCQ_PACKING_GPTQ_V2;
        IntScheme scheme{bits, sym, packing, group, INCQ_DTYPE_BF16};
        // K = 1008: 32 k-blocks, the last one half; N = 208: a full and a partial column tile.
        for (int64_t M : {1, 3, 16}) {
          auto c = abi_test::make_linear_case(scheme, M, 1008, 208, ++seed);
          if (M == 3) add_bias(c);
          // 3 k-blocks per work-group: 11 splits, the last with 2 blocks.
          EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear", gemv_on(2, 3)), "")
              << abi_test::describe(scheme) << " M=" << M;
        }
      }
}

TEST(XpuIntGemvSplitK, FullTileFastPathAndItsEdges) {
  // The kernel's full-tile path (no bounds checks) needs whole runs of 8 word rows inside one group:
  // k-blocks per work-group a multiple of 4 (2 bits), 2 (4 bits), 1 (8 bits). K = 1056 = 33 blocks
  // with 8 per work-group: four full splits take it, the fifth (one block) and the partial column
  // tile of N = 272 take the checked path; every row variant (1, 4, 16 rows) and one group.
  uint32_t seed = 700;
  for (int bits : {2, 4, 8})
    for (bool sym : {true, false})
      for (int group : {128, -1})
        for (int64_t M : {1, 4, 16}) {
          if (bits == 4 && M == 4 && group == 128) continue;  // EveryRowCountDtypeWarpsAndSplit has it
          IntScheme scheme{bits, sym, sym ? INCQ_PACKING_GPTQ_V1 : INCQ_PACKING_GPTQ_V2, group, INCQ_DTYPE_BF16};
          auto c = abi_test::make_linear_case(scheme, M, 1056, 272, ++seed);
          if (M == 4) add_bias(c);
          EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear", gemv_on(bits == 8 ? 4 : 2, 8)), "")
              << abi_test::describe(scheme) << " M=" << M;
        }
}

TEST(XpuIntGemvSplitK, EveryRowCountDtypeWarpsAndSplit) {
  uint32_t seed = 500;
  for (int32_t dtype : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16})
    for (int64_t M = 1; M <= 16; ++M) {
      IntScheme scheme{4, M % 2 == 0, INCQ_PACKING_GPTQ_V2, 128, dtype};
      auto c = abi_test::make_linear_case(scheme, M, 1400, 264, ++seed);
      if (M % 3 == 0) add_bias(c);
      const int warps = 1 + static_cast<int>(M % 4);
      const int kblocks = M % 5 == 0 ? 0 : static_cast<int>(M % 7) + 1;  // 0: the automatic split
      EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear", gemv_on(warps, kblocks)), "")
          << abi_test::describe(scheme) << " M=" << M << " warps=" << warps << " kblocks=" << kblocks;
    }
}

TEST(XpuIntGemvSplitK, AwqAndOneSplitAndRepeatedLaunches) {
  IntScheme scheme{4, false, INCQ_PACKING_AWQ, 64, INCQ_DTYPE_F16};
  auto c = abi_test::make_linear_case(scheme, 2, 512, 136, 41u);
  EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear", gemv_on(4, 64)), "");  // all of K in one work-group
  // The same shapes again and again: the tile counters must be back at 0 after every launch.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear", gemv_on(1, 1)), "") << i;
}

TEST(XpuIntGemvSplitK, LayersItCannotServeFallBackOrNameWhy) {
  // 3 bits (codes straddle words) and group 48 (act-order goes through the CLI test; N % 4 != 0
  // cannot be packed at 2/4/8 bits).
  struct Case {
    int bits, group;
    int64_t K, N;
    const char* why;
  } cases[] = {{3, 32, 160, 96, "straddle"}, {4, 48, 144, 40, "multiple of 32"}};
  for (const auto& k : cases) {
    IntScheme scheme{k.bits, true, INCQ_PACKING_GPTQ_V2, k.group, INCQ_DTYPE_F32};
    const auto c = abi_test::make_linear_case(scheme, 1, k.K, k.N, 77u);
    EXPECT_EQ(run_case(c, "inc_xpu.int_wo_linear"), "") << k.why;  // auto: the tile kernels serve it
    try {
      run_case(c, "inc_xpu.int_wo_linear", {{"gemv", "on"}});
      ADD_FAILURE() << "gemv=on accepted a layer it cannot serve (" << k.why << ")";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(k.why), std::string::npos) << e.what();
    }
  }
}

TEST(XpuIntGemvSplitK, OptionsAreValidated) {
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32};
  const auto c = abi_test::make_linear_case(scheme, 1, 64, 8, 9u);
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"gemv", "yes"}, {"gemv_rows", "17"}, {"gemv_warps", "0"}, {"gemv_kblocks", "-1"}}) {
    try {
      run_case(c, "inc_xpu.int_wo_linear", {{k, v}});
      ADD_FAILURE() << k << "=" << v << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("option " + k), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace incq::xpu_test
