#include "xpu_test_support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "common/error.hpp"

namespace incq::xpu_test {

std::string plugin_path(const std::string& name) { return std::string(INCQ_TEST_PLUGIN_DIR) + "/libincq_" + name + ".so"; }

XpuWorld& world() {
  static XpuWorld* w = [] {
    auto* x = new XpuWorld();
    std::map<std::string, host::OptionMap> options;
    options["inc_xpu"] = {{"cache_dir", INCQ_XPU_TEST_CACHE_DIR}};
    x->plugins.set_plugin_options(options);
    x->plugins.load_file(plugin_path("inc_cpu"));
    auto p = x->plugins.load_file(plugin_path("inc_xpu"));
    const auto& a = p->availability(INCQ_DEVICE_OPENCL);
    x->usable = a.available;
    x->availability = a.detail;
    x->ocl = std::make_unique<host::opencl::DevicePath>(INCQ_DEVICE_OPENCL, &options["inc_xpu"]);
    return x;
  }();
  return *w;
}

const host::Implementation* XpuWorld::impl(const std::string& name) const { return plugins.registry().find(name); }

incq_device XpuWorld::device() const {
  incq_device d{};
  d.struct_size = sizeof d;
  d.type = INCQ_DEVICE_OPENCL;
  return ocl->attach(d);
}

std::string run_case(const abi_test::LayerCase& c, const std::string& impl_name, const host::OptionMap& layer_options) {
  XpuWorld& w = world();
  if (!w.usable) return "inc_xpu is not usable: " + w.availability;
  if (!w.ocl->ready()) return "the host's OpenCL path is not ready: " + w.ocl->reason();
  const host::Implementation* impl = w.impl(impl_name);
  if (impl == nullptr) return "no implementation " + impl_name;
  const incq_device dev = w.device();
  const incq_layer_desc desc = c.desc();
  incq_error reason{};
  reason.struct_size = sizeof reason;
  if (impl->desc->can_implement(impl->desc->impl_ctx, &desc, &dev, &reason) != INCQ_OK)
    return "can_implement refused: " + std::string(reason.message);
  auto layer = host::LoadedLayer::load(*impl, desc, dev, c.bundle_tensors(), c.scheme.packing, layer_options);
  std::vector<uint8_t> out = abi_test::output_buffer(c);
  incq_tensor y = abi_test::output_view(c, out);
  const incq_exec exec = abi_test::serial_exec();
  if (desc.module_kind == INCQ_MODULE_LINEAR) {
    w.ocl->apply_linear(dev, c.input_view(), y, [&](const incq_tensor& x_, incq_tensor& y_) { layer->apply_linear(x_, y_, exec); });
  } else {
    w.ocl->apply_moe(dev, c.input_view(), c.ids_view(), c.weights_view(), y,
                     [&](const incq_tensor& x_, const incq_tensor& i_, const incq_tensor& w_, incq_tensor& y_) {
                       layer->apply_moe(x_, i_, w_, y_, exec);
                     });
  }
  return abi_test::contract_violation(c, out, layer->tolerance());
}

int run_command(const std::string& cmd, std::string& output) {
  output.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) output.append(buf.data(), n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace incq::xpu_test
