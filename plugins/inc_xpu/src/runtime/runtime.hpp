// inc_xpu's plugin-wide state: options, the selected device and the plugin's own session on it,
// the program store, and the cached availability answer.
#ifndef INCQ_INC_XPU_RUNTIME_HPP
#define INCQ_INC_XPU_RUNTIME_HPP

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "incq/plugin_api.h"
#include "plugin_options.hpp"
#include "program_store.hpp"
#include "session.hpp"

namespace incq::inc_xpu {

struct Availability {
  bool usable = false;
  std::string detail;  // the reason when not usable, the device when usable
};

class Runtime {
 public:
  explicit Runtime(PluginOptions options);
  // Selects the device, creates the plugin's session and builds the probe program (the integer
  // kernels for f32 activations and 4-bit weights) once; the answer is cached for the plugin's life.
  const Availability& availability();
  // The session a layer created for `device` runs on: the host's context/queue when it passes them,
  // else the plugin's own. Throws UNAVAILABLE with the probe's reason when there is none.
  std::shared_ptr<Session> session_for(const incq_device* device);
  ProgramStore& programs() { return programs_; }
  const PluginOptions& options() const { return options_; }

 private:
  PluginOptions options_;
  ProgramStore programs_;
  std::mutex mutex_;
  bool probed_ = false;
  Availability availability_;
  std::shared_ptr<Session> own_;
  // Sessions on the host's context/queue, one per pair while any layer holds it, so the layers of
  // one queue share its split-K scratch (the Session retains both handles, so a live key is unique).
  std::map<std::pair<cl_context, cl_command_queue>, std::weak_ptr<Session>> borrowed_;
};

// The integer program (Linear and MoE kernels, routing, combine) for activations of `act_dtype`
// (incq_dtype F32/F16/BF16) and weights of `bits` (2/3/4/8).
ProgramSpec int_program_spec(int32_t act_dtype, int32_t bits);
// The NVIDIA tensor-core GEMM program (kernels_cl/int_wo_gemm_16xT_tf32mma_nv.cl), same options.
ProgramSpec int_mma_program_spec(int32_t act_dtype, int32_t bits);
// The split-K GEMV program (kernels_cl/int_wo_gemv_Rx128_splitk.cl): 2/4/8 bits only.
ProgramSpec int_gemv_program_spec(int32_t act_dtype, int32_t bits);

// The plugin's runtime (set by initialize, cleared by shutdown). Throws UNAVAILABLE when absent.
Runtime& runtime();
void set_runtime(std::unique_ptr<Runtime> r);

}  // namespace incq::inc_xpu

#endif
