#include "tensor_access.hpp"

#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {
namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

TensorAccess::TensorAccess(const Session& s, const incq_tensor* t, int32_t dtype, const std::vector<int64_t>& shape,
                           bool is_output, const std::string& what)
    : t_(t), is_output_(is_output) {
  if (t == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, what + ": NULL tensor");
  if (!INCQ_HAS_FIELD(t, incq_tensor, device_index))
    fail(INCQ_ERR_ABI, what + ": incq_tensor struct_size " + std::to_string(t->struct_size) + " is too small");
  if (t->dtype != dtype)
    fail(INCQ_ERR_INVALID_ARGUMENT, what + ": dtype " + dtype_name(t->dtype) + ", expected " + dtype_name(dtype));
  bool shape_ok = t->ndim == static_cast<int32_t>(shape.size());
  for (size_t i = 0; shape_ok && i < shape.size(); ++i) shape_ok = t->shape[i] == shape[i];
  if (!shape_ok) {
    std::vector<int64_t> got(t->shape, t->shape + std::max(0, std::min(t->ndim, INCQ_MAX_DIMS)));
    fail(INCQ_ERR_INVALID_ARGUMENT, what + ": shape " + shape_text(got) + ", expected " + shape_text(shape));
  }
  if (!is_contiguous(*t)) fail(INCQ_ERR_INVALID_ARGUMENT, what + ": must be row-major contiguous");
  const size_t es = dtype_size(dtype);
  bytes_ = static_cast<size_t>(numel(*t)) * es;
  if (t->data == nullptr && bytes_ > 0) fail(INCQ_ERR_INVALID_ARGUMENT, what + ": NULL data");
  if (t->device_type == INCQ_DEVICE_OPENCL) {
    if (t->byte_offset % es != 0)
      fail(INCQ_ERR_INVALID_ARGUMENT, what + ": byte_offset " + std::to_string(t->byte_offset) +
                                          " is not a multiple of the element size");
    mem_ = static_cast<cl_mem>(t->data);
    if (bytes_ > 0) {
      cl_context ctx = nullptr;
      size_t size = 0;
      if (clGetMemObjectInfo(mem_, CL_MEM_CONTEXT, sizeof ctx, &ctx, nullptr) != CL_SUCCESS ||
          clGetMemObjectInfo(mem_, CL_MEM_SIZE, sizeof size, &size, nullptr) != CL_SUCCESS)
        fail(INCQ_ERR_INVALID_ARGUMENT, what + ": data is not a valid cl_mem");
      if (ctx != s.context())
        fail(INCQ_ERR_INVALID_ARGUMENT, what + ": its cl_mem belongs to another OpenCL context than the layer's "
                                               "(pass the host's context and queue in incq_device)");
      if (t->byte_offset + bytes_ > size)
        fail(INCQ_ERR_INVALID_ARGUMENT, what + ": byte_offset + size exceeds the cl_mem's " + std::to_string(size) + " bytes");
    }
    offset_ = static_cast<uint32_t>(t->byte_offset / es);
  } else if (t->device_type == INCQ_DEVICE_CPU) {
    const uint8_t* host = static_cast<const uint8_t*>(t->data) + t->byte_offset;
    staged_ = is_output ? DeviceBuffer(s, bytes_, what) : DeviceBuffer(s, host, bytes_, what);
    mem_ = staged_.get();
  } else {
    fail(INCQ_ERR_INVALID_ARGUMENT, what + ": unknown device_type " + std::to_string(t->device_type));
  }
}

void TensorAccess::finish(const Session& s) {
  if (!is_output_ || !staged() || bytes_ == 0) return;
  uint8_t* host = static_cast<uint8_t*>(t_->data) + t_->byte_offset;
  cl_check(clEnqueueReadBuffer(s.queue(), staged_.get(), CL_TRUE, 0, bytes_, host, 0, nullptr, nullptr),
           "inc_xpu: reading back the staged output");
}

}  // namespace incq::inc_xpu
