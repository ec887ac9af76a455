// Where a layer's OpenCL context and queue come from: the host's (incq_device.native_context /
// native_queue, device tensors in that context), the host's context alone (the plugin adds a queue),
// or none (the plugin's own; host memory tensors are staged). And the errors when they do not fit.
#include <gtest/gtest.h>

#include "device_select.hpp"
#include "xpu_test_support.hpp"

namespace incq::xpu_test {
namespace {

using abi_test::IntScheme;

abi_test::LayerCase small_case(uint32_t seed) {
  return abi_test::make_linear_case(IntScheme{4, true, INCQ_PACKING_GPTQ_V2, 32, INCQ_DTYPE_F32}, 3, 96, 40, seed);
}

// Loads c on `dev` and runs it on host-memory tensors (the plugin stages them).
std::string run_on_host_tensors(const abi_test::LayerCase& c, const incq_device& dev) {
  const host::Implementation* impl = world().impl("inc_xpu.int_wo_linear");
  auto layer = host::LoadedLayer::load(*impl, c.desc(), dev, c.bundle_tensors(), c.scheme.packing);
  std::vector<uint8_t> out = abi_test::output_buffer(c);
  incq_tensor y = abi_test::output_view(c, out);
  layer->apply_linear(c.input_view(), y, abi_test::serial_exec());
  return abi_test::contract_violation(c, out, layer->tolerance());
}

TEST(XpuHostContext, HostContextAndQueueWithDeviceTensors) {
  ASSERT_TRUE(world().usable) << world().availability;
  EXPECT_EQ(run_case(small_case(1), "inc_xpu.int_wo_linear"), "");
}

TEST(XpuHostContext, PluginOwnSessionStagesHostTensors) {
  ASSERT_TRUE(world().usable) << world().availability;
  incq_device bare{};
  bare.struct_size = sizeof bare;
  bare.type = INCQ_DEVICE_OPENCL;
  EXPECT_EQ(run_on_host_tensors(small_case(2), bare), "");
}

TEST(XpuHostContext, HostContextWithoutQueue) {
  ASSERT_TRUE(world().usable) << world().availability;
  incq_device dev = world().device();
  dev.native_queue = nullptr;  // the plugin creates its queue inside the host's context
  EXPECT_EQ(run_on_host_tensors(small_case(3), dev), "");
}

TEST(XpuHostContext, DeviceTensorFromAnotherContextIsRefusedByName) {
  ASSERT_TRUE(world().usable) << world().availability;
  const auto c = small_case(4);
  const host::Implementation* impl = world().impl("inc_xpu.int_wo_linear");
  auto layer = host::LoadedLayer::load(*impl, c.desc(), world().device(), c.bundle_tensors(), c.scheme.packing);
  // A second host path has its own context: its buffers are not the layer's.
  host::opencl::DevicePath other(INCQ_DEVICE_OPENCL, nullptr);
  ASSERT_TRUE(other.ready()) << other.reason();
  incq_device other_dev{};
  other_dev.struct_size = sizeof other_dev;
  other_dev.type = INCQ_DEVICE_OPENCL;
  other_dev = other.attach(other_dev);
  std::vector<uint8_t> out = abi_test::output_buffer(c);
  incq_tensor y = abi_test::output_view(c, out);
  try {
    other.apply_linear(other_dev, c.input_view(), y, [&](const incq_tensor& x_, incq_tensor& y_) {
      layer->apply_linear(x_, y_, abi_test::serial_exec());
    });
    FAIL() << "a cl_mem of another context was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another OpenCL context"), std::string::npos) << e.what();
  }
}

TEST(XpuHostContext, WrongShapeAndDtypeNameTheLayerAndTensor) {
  ASSERT_TRUE(world().usable) << world().availability;
  const auto c = small_case(5);
  const host::Implementation* impl = world().impl("inc_xpu.int_wo_linear");
  auto layer = host::LoadedLayer::load(*impl, c.desc(), world().device(), c.bundle_tensors(), c.scheme.packing);
  std::vector<uint8_t> out = abi_test::output_buffer(c);
  incq_tensor y = abi_test::output_view(c, out);
  incq_tensor x = c.input_view();
  x.dtype = INCQ_DTYPE_BF16;
  try {
    layer->apply_linear(x, y, abi_test::serial_exec());
    FAIL() << "a bf16 input was accepted by an f32 layer";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("x: dtype BF16, expected F32"), std::string::npos) << e.what();
  }
  incq_tensor x2 = c.input_view();
  x2.shape[1] -= 1;
  try {
    layer->apply_linear(x2, y, abi_test::serial_exec());
    FAIL() << "a wrong K was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("x: shape [3,95], expected [3,96]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace incq::xpu_test
