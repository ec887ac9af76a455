#include "runtime.hpp"

#include "device_select.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {
namespace {

std::unique_ptr<Runtime>& slot() {
  static std::unique_ptr<Runtime> r;
  return r;
}

}  // namespace

ProgramSpec int_program_spec(int32_t act_dtype, int32_t bits) {
  return {{"common_act_io.cl", "int_wo_tile_f32acc.cl", "int_wo_linear.cl", "moe_route.cl", "int_wo_moe.cl"},
          "-DACT_DTYPE=" + std::to_string(act_dtype) + " -DINT_BITS=" + std::to_string(bits)};
}

ProgramSpec int_mma_program_spec(int32_t act_dtype, int32_t bits) {
  return {{"common_act_io.cl", "int_wo_tile_f32acc.cl", "int_wo_gemm_16xT_tf32mma_nv.cl"},
          "-DACT_DTYPE=" + std::to_string(act_dtype) + " -DINT_BITS=" + std::to_string(bits)};
}

Runtime::Runtime(PluginOptions options)
    : options_(std::move(options)), programs_(options_.cache_dir, options_.build_options) {}

const Availability& Runtime::availability() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (probed_) return availability_;
  probed_ = true;
  const cl_support::SelectedDevice sel = cl_support::select_device(options_.choice);
  if (sel.device == nullptr) {
    availability_ = {false, sel.reason};
    return availability_;
  }
  try {
    own_ = Session::create(sel.device);
    programs_.get(*own_, int_program_spec(INCQ_DTYPE_F32, 4));
    availability_ = {true, "OpenCL device " + sel.description};
  } catch (const std::exception& e) {
    own_.reset();
    availability_ = {false, e.what()};
  }
  return availability_;
}

std::shared_ptr<Session> Runtime::session_for(const incq_device* device) {
  if (device != nullptr && INCQ_HAS_FIELD(device, incq_device, native_queue) &&
      (device->native_context != nullptr || device->native_queue != nullptr)) {
    return Session::borrow(static_cast<cl_context>(device->native_context),
                           static_cast<cl_command_queue>(device->native_queue));
  }
  const Availability& a = availability();
  if (!a.usable) fail(INCQ_ERR_UNAVAILABLE, "inc_xpu is not usable: " + a.detail);
  std::lock_guard<std::mutex> lock(mutex_);
  return own_;
}

Runtime& runtime() {
  if (!slot()) fail(INCQ_ERR_UNAVAILABLE, "inc_xpu: not initialized");
  return *slot();
}

void set_runtime(std::unique_ptr<Runtime> r) { slot() = std::move(r); }

}  // namespace incq::inc_xpu
