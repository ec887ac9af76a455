// inc_xpu.{mx_fp,mx_int,nv_fp}_linear and inc_xpu.{mx_fp,mx_int}_moe against the host's oracle on
// the CI's OpenCL device: MXFP4 / MXFP8 / MXINT4 / NVFP4, weight-only and with their activation
// quantization (MX_FP 4 and 8, MX_INT 4, NV_FP with the static global scale) done on the device.
#include "test_xpu_fp8_verify.hpp"

namespace incq::xpu_test {
namespace {

struct MxCase {
  const char* name;
  const char* qc;
  const char* impl_prefix;
  bool moe;
};

const MxCase kCases[] = {
    {"mxfp4_w4a4", R"({"bits": 4, "group_size": 32, "data_type": "mx_fp", "act_bits": 4, "act_data_type": "mx_fp",
       "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})", "inc_xpu.mx_fp_", true},
    {"mxfp4_weight_only", R"({"bits": 4, "group_size": 32, "data_type": "mx_fp",
       "packing_format": "auto_round:llm_compressor"})", "inc_xpu.mx_fp_", false},
    {"mxfp8_w8a8", R"({"bits": 8, "group_size": 32, "data_type": "mx_fp", "act_bits": 8, "act_data_type": "mx_fp",
       "act_group_size": 32, "packing_format": "auto_round:llm_compressor"})", "inc_xpu.mx_fp_", true},
    {"mxint4_w4a4", R"({"bits": 4, "group_size": 32, "data_type": "mx_int", "act_bits": 4, "act_data_type": "mx_int",
       "act_group_size": 32, "packing_format": "auto_round"})", "inc_xpu.mx_int_", true},
    {"nvfp4_w4a4", R"({"bits": 4, "group_size": 16, "data_type": "nv_fp", "act_bits": 4,
       "act_data_type": "nv_fp4_with_static_gs", "act_group_size": 16, "packing_format": "auto_round:llm_compressor"})",
     "inc_xpu.nv_fp_", false},
};

class MxOnDevice : public ::testing::TestWithParam<MxCase> {};

TEST_P(MxOnDevice, LinearAndMoeMatchTheOracle) {
  const MxCase& c = GetParam();
  // K = 160: 16-element steps that are not a multiple of the 128 lanes' stride.
  ojson layers = linear_layers(160);
  if (c.moe) layers.push_back(moe_layer(96, 64, 4)[0]);
  EXPECT_EQ(verify_on_device(c.name, ojson::parse(c.qc), layers, remainder_runs(), c.impl_prefix), "");
}

std::string case_name(const ::testing::TestParamInfo<MxCase>& info) { return info.param.name; }
INSTANTIATE_TEST_SUITE_P(Schemes, MxOnDevice, ::testing::ValuesIn(kCases), case_name);

}  // namespace
}  // namespace incq::xpu_test
