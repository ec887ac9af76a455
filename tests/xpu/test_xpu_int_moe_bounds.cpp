// inc_xpu MoE robustness: the driver's intermediate buffers are bounded (kMoeChunkPairs routed pairs
// per chunk, sized at process time), so a batch with more pairs runs in chunks and must still match
// the oracle; expert ids outside [0, E) that reach the device are skipped there and reported as an
// error naming the layer and the id (on the host's queue within kMoeIdCheckInterval + 1 applies),
// after which the layer keeps working.
#include <gtest/gtest.h>

#include "moe/moe_driver.hpp"
#include "moe/moe_scratch.hpp"
#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

using abi_test::IntScheme;

TEST(XpuIntMoeBounds, BatchAboveTheScratchBoundRunsInChunks) {
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32};
  const int top_k = 2;
  const int64_t T = inc_xpu::kMoeChunkPairs / top_k + 37;  // two chunks, the second partial
  const auto c = abi_test::make_moe_case(scheme, T, 64, 32, 4, top_k, 23u);
  EXPECT_EQ(run_case(c, "inc_xpu.int_wo_moe"), "");
}

TEST(XpuIntMoeBounds, OutOfRangeDeviceExpertIdsAreReportedNotRead) {
  XpuWorld& w = world();
  ASSERT_TRUE(w.usable) << w.availability;
  IntScheme scheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32};
  const int64_t E = 8;
  const abi_test::LayerCase good = abi_test::make_moe_case(scheme, 3, 64, 32, E, 2, 29u);
  abi_test::LayerCase bad = good;
  bad.topk_ids[1] = static_cast<int32_t>(E + 5);
  bad.topk_ids[4] = -1;
  const host::Implementation* impl = w.impl("inc_xpu.int_wo_moe");
  ASSERT_NE(impl, nullptr);
  const incq_device dev = w.device();
  auto layer = host::LoadedLayer::load(*impl, good.desc(), dev, good.bundle_tensors(), scheme.packing);
  const incq_exec exec = abi_test::serial_exec();
  auto apply = [&](const abi_test::LayerCase& c, std::vector<uint8_t>& out) {
    incq_tensor y = abi_test::output_view(c, out);
    w.ocl->apply_moe(dev, c.input_view(), c.ids_view(), c.weights_view(), y,
                     [&](const incq_tensor& x_, const incq_tensor& i_, const incq_tensor& w_, incq_tensor& y_) {
                       layer->apply_moe(x_, i_, w_, y_, exec);
                     });
  };
  std::vector<uint8_t> out = abi_test::output_buffer(bad);
  // The error comes with the bad apply (when the plugin waited anyway) or, on the host's queue,
  // with a later one: the record is read every kMoeIdCheckInterval applies.
  std::string error;
  for (int i = 0; i <= inc_xpu::kMoeIdCheckInterval + 1 && error.empty(); ++i) {
    try {
      apply(i == 0 ? bad : good, out);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  EXPECT_NE(error.find("topk_ids on the device held"), std::string::npos) << error;
  EXPECT_NE(error.find("not an expert index in [0, 8)"), std::string::npos) << error;
  EXPECT_NE(error.find(good.layer_name), std::string::npos) << error;
  EXPECT_TRUE(error.find("held 13 at flat slot 1") != std::string::npos ||
              error.find("held -1 at flat slot 4") != std::string::npos)
      << error;
  // Reported once; the layer then serves good ids correctly.
  std::vector<uint8_t> out2 = abi_test::output_buffer(good);
  EXPECT_NO_THROW(apply(good, out2));
  EXPECT_EQ(abi_test::contract_violation(good, out2, layer->tolerance()), "");
}

}  // namespace
}  // namespace incq::xpu_test
