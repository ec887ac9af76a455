// One OpenCL context + in-order queue + device that layers run on: either the host's (handed in
// through incq_device.native_context / native_queue, retained, never created by us) or one the
// plugin creates for its selected device.
#ifndef INCQ_INC_XPU_SESSION_HPP
#define INCQ_INC_XPU_SESSION_HPP

#include <memory>
#include <string>

#include "cl_dynamic.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_xpu {

class SplitKScratch;
class MoeScratch;

class Session {
 public:
  // A new context and queue on `device`.
  static std::shared_ptr<Session> create(cl_device_id device);
  // The host's context and queue (queue may be NULL: then one is created in the host's context on
  // its first device). Throws INVALID_ARGUMENT when they do not belong together.
  static std::shared_ptr<Session> borrow(cl_context context, cl_command_queue queue);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  cl_context context() const { return context_; }
  cl_command_queue queue() const { return queue_; }
  cl_device_id device() const { return device_; }
  // True when the queue is the host's: results then need no clFinish (the host orders its queue).
  bool host_queue() const { return host_queue_; }
  // The split-K kernels' scratch of this queue (see splitk_scratch.hpp).
  SplitKScratch& splitk() const { return *splitk_; }
  // The MoE driver's intermediate buffers of this queue (see moe/moe_scratch.hpp).
  MoeScratch& moe() const { return *moe_; }

 private:
  Session();
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_device_id device_ = nullptr;
  bool host_queue_ = false;
  std::unique_ptr<SplitKScratch> splitk_;
  std::unique_ptr<MoeScratch> moe_;
};

}  // namespace incq::inc_xpu

#endif
