#include "runtime.hpp"

#include "device_info.hpp"
#include "device_select.hpp"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {
namespace {

// Why oneDNN's OpenCL GPU engine does not serve this device's dense parts. Debian's libdnnl.so.2 is
// built with the OpenCL GPU runtime (it links libOpenCL and carries dnnl_ocl_interop_*), but that
// engine generates kernels for Intel GPUs only; inc_xpu's own kernels serve every device.
std::string onednn_gpu_note(cl_device_id d) {
  cl_uint vendor_id = 0;
  clGetDeviceInfo(d, CL_DEVICE_VENDOR_ID, sizeof vendor_id, &vendor_id, nullptr);
  cl_device_type type = 0;
  clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, nullptr);
  if (vendor_id != 0x8086 || (type & CL_DEVICE_TYPE_GPU) == 0)
    return "oneDNN GPU engine: not applicable (it serves Intel GPUs only; this device's vendor is '" +
           cl_support::device_string(d, CL_DEVICE_VENDOR) + "')";
  return "oneDNN GPU engine: not used (an Intel GPU; inc_xpu's kernels serve its dense parts, the oneDNN path is not wired in)";
}

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

ProgramSpec int_gemv_program_spec(int32_t act_dtype, int32_t bits) {
  return {{"common_act_io.cl", "int_wo_gemv_Rx128_splitk.cl"},
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
    availability_ = {true, "OpenCL device " + sel.description + "; " + onednn_gpu_note(sel.device)};
  } catch (const std::exception& e) {
    own_.reset();
    availability_ = {false, e.what()};
  }
  return availability_;
}

std::shared_ptr<Session> Runtime::session_for(const incq_device* device) {
  if (device != nullptr && INCQ_HAS_FIELD(device, incq_device, native_queue) &&
      (device->native_context != nullptr || device->native_queue != nullptr)) {
    const auto key = std::make_pair(static_cast<cl_context>(device->native_context),
                                    static_cast<cl_command_queue>(device->native_queue));
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto live = borrowed_[key].lock()) return live;
    for (auto it = borrowed_.begin(); it != borrowed_.end();) it = it->second.expired() ? borrowed_.erase(it) : std::next(it);
    auto s = Session::borrow(key.first, key.second);
    borrowed_[key] = s;
    return s;
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
