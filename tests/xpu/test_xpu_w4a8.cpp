// inc_xpu.w4a8_linear / inc_xpu.w4a8_moe against the oracle with the same per-token int8
// quantization (docs/formats.md §3 "INT") on the CI's OpenCL device: group sizes 32..256, GPTQ v1
// and v2, negative scales, a zero input row, f32/bf16/f16, DESIGN §5's token counts.
#include "test_xpu_fp8_verify.hpp"
#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

using abi_test::IntScheme;

TEST(XpuW4a8, LinearEveryGroupPackingDtypeAndRowCount) {
  for (int group : {32, 64, 128})
    for (incq_packing packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2})
      for (int32_t dtype : {INCQ_DTYPE_F32, INCQ_DTYPE_BF16, INCQ_DTYPE_F16}) {
        IntScheme scheme{4, true, packing, group, dtype, 8};
        // K = 384 is 3 steps of the 128 lanes' 16-element stride; N = 40 is not a multiple of 16.
        for (int64_t M : {1, 2, 3, 7, 16, 33}) {
          const auto c = abi_test::make_linear_case(scheme, M, 384, 40, 500u + static_cast<uint32_t>(M + group));
          EXPECT_EQ(run_case(c, "inc_xpu.w4a8_linear"), "") << abi_test::describe(scheme) << " M=" << M;
        }
      }
}

TEST(XpuW4a8, LinearPrefill) {
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 256, INCQ_DTYPE_BF16, 8};
  const auto c = abi_test::make_linear_case(scheme, 512, 512, 72, 7u);
  EXPECT_EQ(run_case(c, "inc_xpu.w4a8_linear"), "");
}

TEST(XpuW4a8, MoeDecodeAndPrefill) {
  for (int64_t T : {1, 3, 33}) {
    IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32, 8};
    const auto c = abi_test::make_moe_case(scheme, T, 128, 96, 4, 2, 900u + static_cast<uint32_t>(T));
    EXPECT_EQ(run_case(c, "inc_xpu.w4a8_moe"), "") << "T=" << T;
  }
}

TEST(XpuW4a8, CheckpointThroughTheHost) {
  ojson layers = linear_layers(256, 40);  // GPTQ packs N in 8s
  layers.push_back(moe_layer(256, 128, 4)[0]);  // group 128 divides both hidden and intermediate
  EXPECT_EQ(verify_on_device("w4a8_g128", ojson::parse(R"({"bits": 4, "group_size": 128, "sym": true, "act_bits": 8,
                                                           "act_dynamic": true, "packing_format": "auto_round"})"),
                             layers, remainder_runs(), "inc_xpu.w4a8_"),
            "");
}

TEST(XpuW4a8, WeightOnlyLayersAreRefusedWithTheReason) {
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32, 16};
  const auto c = abi_test::make_linear_case(scheme, 1, 64, 16, 3u);
  EXPECT_NE(run_case(c, "inc_xpu.w4a8_linear").find("act_bits = 16 not supported"), std::string::npos);
}

}  // namespace
}  // namespace incq::xpu_test
