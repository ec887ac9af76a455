// inc_xpu.int_wo_moe against the oracle: routing on the device (empty experts, a token picking one
// expert twice), gate+up+SiLU, down, weighted combine; decode (1-pair tiles) and prefill (8-pair
// tiles); every bit width, sym/asym, GPTQ v1/v2, AWQ.
#include <gtest/gtest.h>

#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

using abi_test::IntScheme;

struct MoeShape {
  int64_t H, I;
};

MoeShape moe_shape_for(int bits) {
  switch (bits) {
    case 3: return {96, 64};
    case 2: return {80, 48};
    default: return {72, 40};
  }
}

TEST(XpuIntMoe, SchemesDecodeAndPrefill) {
  const std::vector<IntScheme> schemes = {
      {4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32},  {4, false, INCQ_PACKING_AWQ, 32, INCQ_DTYPE_BF16},
      {3, true, INCQ_PACKING_GPTQ_V1, 32, INCQ_DTYPE_F32}, {2, true, INCQ_PACKING_GPTQ_V1, -1, INCQ_DTYPE_F16},
      {8, false, INCQ_PACKING_GPTQ_V2, 48, INCQ_DTYPE_F32},
  };
  for (const auto& scheme : schemes)
    for (int64_t T : {1, 3, 33}) {
      const MoeShape s = moe_shape_for(scheme.bits);
      const int64_t E = 8;
      const int top_k = T == 1 ? 4 : 2;
      const auto c = abi_test::make_moe_case(scheme, T, s.H, s.I, E, top_k, 300u + static_cast<uint32_t>(T * 5 + scheme.bits));
      EXPECT_EQ(run_case(c, "inc_xpu.int_wo_moe"), "") << abi_test::describe(scheme) << " T=" << T << " top_k=" << top_k;
    }
}

TEST(XpuIntMoe, ManyExpertsFewTokens) {
  // Most experts get no token: their tiles must not exist, the rest must still be right.
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32};
  const auto c = abi_test::make_moe_case(scheme, 2, 64, 32, 64, 8, 17u);
  EXPECT_EQ(run_case(c, "inc_xpu.int_wo_moe"), "");
}

}  // namespace
}  // namespace incq::xpu_test
