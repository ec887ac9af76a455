#include "session.hpp"

#include <vector>

#include "cl_error.hpp"
#include "moe/moe_scratch.hpp"
#include "splitk_scratch.hpp"

namespace incq::inc_xpu {

Session::Session() : splitk_(std::make_unique<SplitKScratch>()), moe_(std::make_unique<MoeScratch>()) {}

std::shared_ptr<Session> Session::create(cl_device_id device) {
  std::shared_ptr<Session> s(new Session());
  cl_int st = CL_SUCCESS;
  s->device_ = device;
  s->context_ = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &st);
  cl_check(st, "inc_xpu: clCreateContext");
  s->queue_ = clCreateCommandQueue(s->context_, device, 0, &st);
  cl_check(st, "inc_xpu: clCreateCommandQueue");
  return s;
}

std::shared_ptr<Session> Session::borrow(cl_context context, cl_command_queue queue) {
  std::shared_ptr<Session> s(new Session());
  if (queue != nullptr) {
    cl_context qctx = nullptr;
    cl_check(clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, nullptr),
             "inc_xpu: the host's queue (CL_QUEUE_CONTEXT)");
    if (context != nullptr && qctx != context)
      fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: incq_device.native_queue does not belong to native_context");
    cl_check(clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof s->device_, &s->device_, nullptr),
             "inc_xpu: the host's queue (CL_QUEUE_DEVICE)");
    cl_command_queue_properties props = 0;
    clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, nullptr);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
      fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: the host's queue is out of order; inc_xpu needs an in-order queue");
    context = qctx;
    cl_check(clRetainContext(context), "inc_xpu: clRetainContext");
    s->context_ = context;
    cl_check(clRetainCommandQueue(queue), "inc_xpu: clRetainCommandQueue");
    s->queue_ = queue;
    s->host_queue_ = true;
    return s;
  }
  cl_uint n = 0;
  cl_check(clGetContextInfo(context, CL_CONTEXT_NUM_DEVICES, sizeof n, &n, nullptr), "inc_xpu: the host's context");
  if (n == 0) fail(INCQ_ERR_INVALID_ARGUMENT, "inc_xpu: the host's context has no device");
  std::vector<cl_device_id> devs(n);
  cl_check(clGetContextInfo(context, CL_CONTEXT_DEVICES, n * sizeof(cl_device_id), devs.data(), nullptr),
           "inc_xpu: the host's context devices");
  cl_check(clRetainContext(context), "inc_xpu: clRetainContext");
  s->context_ = context;
  s->device_ = devs[0];
  cl_int st = CL_SUCCESS;
  s->queue_ = clCreateCommandQueue(context, s->device_, 0, &st);
  cl_check(st, "inc_xpu: clCreateCommandQueue in the host's context");
  return s;
}

Session::~Session() {
  splitk_.reset();  // their buffers before the context
  moe_.reset();
  if (queue_ != nullptr) clReleaseCommandQueue(queue_);
  if (context_ != nullptr) clReleaseContext(context_);
}

}  // namespace incq::inc_xpu
