// inc_xpu.fp8_linear / inc_xpu.fp8_moe against the host's oracle on the CI's OpenCL device: e4m3 and
// e5m2, per-tensor / per-channel / per-group (vector and element-wise kernel paths) / block scales,
// FP8 block W8A8 (e4m3 activations quantized on the device), remainder shapes and token counts.
#include "test_xpu_fp8_verify.hpp"

namespace incq::xpu_test {
namespace {

struct Fp8Case {
  const char* name;
  const char* qc;
  int64_t K;
};

// K = 160: 8-element steps (vector path); K = 100 or a group of 20: the element-wise path.
const Fp8Case kCases[] = {
    {"e4m3_per_channel", R"({"bits": 8, "data_type": "fp", "group_size": -1})", 160},
    {"e4m3_per_tensor", R"({"bits": 8, "data_type": "fp", "group_size": 0})", 100},
    {"e5m2_group32", R"({"bits": 8, "data_type": "fp8_e5m2", "group_size": 32})", 160},
    {"e4m3_group20", R"({"bits": 8, "data_type": "fp", "group_size": 20})", 100},
    {"block_w8a8", R"({"bits": 8, "data_type": "fp", "group_size": [32, 32], "weight_block_size": [32, 32],
       "packing_format": "auto_round:fp8", "act_bits": 8, "act_data_type": "fp", "act_group_size": 32})", 160},
};

class Fp8OnDevice : public ::testing::TestWithParam<Fp8Case> {};

TEST_P(Fp8OnDevice, LinearAndMoeMatchTheOracle) {
  const Fp8Case& c = GetParam();
  ojson layers = linear_layers(c.K);
  layers.push_back(moe_layer(c.K, 48, 4)[0]);
  EXPECT_EQ(verify_on_device(c.name, ojson::parse(c.qc), layers, remainder_runs(), "inc_xpu.fp8_"), "");
}

TEST(Fp8OnDevicePrefill, FiveHundredTwelveTokens) {
  ojson layers = linear_layers(256);
  layers.push_back(moe_layer(128, 64, 8)[0]);
  EXPECT_EQ(verify_on_device("e4m3_prefill", ojson::parse(R"({"bits": 8, "data_type": "fp", "group_size": 128})"),
                             layers, {{INCQ_DTYPE_BF16, {512}}}, "inc_xpu.fp8_", 4),
            "");
}

std::string case_name(const ::testing::TestParamInfo<Fp8Case>& info) { return info.param.name; }
INSTANTIATE_TEST_SUITE_P(Schemes, Fp8OnDevice, ::testing::ValuesIn(kCases), case_name);

}  // namespace
}  // namespace incq::xpu_test
