#include "tensor_checks.hpp"

#include <cstddef>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

std::string dtype_list(std::initializer_list<int32_t> dtypes) {
  std::string out;
  for (int32_t d : dtypes) out += (out.empty() ? "" : " or ") + std::string(dtype_name(d));
  return out;
}

std::string shape_list(std::initializer_list<int64_t> shape) {
  std::string out = "[";
  for (int64_t d : shape) out += (out.size() > 1 ? ", " : "") + std::to_string(d);
  return out + "]";
}

// Fields appended after strides are absent for old writers: a tensor then lives on the CPU.
// (t is never NULL here; the struct_size test is the point.)
int32_t device_type_of(const incq_tensor& t) {
  const bool has = t.struct_size >= offsetof(incq_tensor, device_type) + sizeof t.device_type;
  return has ? t.device_type : INCQ_DEVICE_CPU;
}

uint64_t byte_offset_of(const incq_tensor& t) {
  const bool has = t.struct_size >= offsetof(incq_tensor, byte_offset) + sizeof t.byte_offset;
  return has ? t.byte_offset : 0;
}

}  // namespace

std::string shape_string(const incq_tensor& t) {
  std::string out = "[";
  for (int i = 0; i < t.ndim && i < INCQ_MAX_DIMS; ++i) {
    out += (i ? ", " : "") + std::to_string(t.shape[i]);
  }
  return out + "]";
}

void check_weight_tensor(const incq_tensor& t, const std::string& layer, const std::string& tensor,
                         std::initializer_list<int32_t> dtypes,
                         std::initializer_list<int64_t> shape, const std::string& layout) {
  const std::string where = "layer '" + layer + "': tensor '" + tensor + "' ";
  if (device_type_of(t) != INCQ_DEVICE_CPU) fail(INCQ_ERR_INVALID_ARGUMENT, where + "is not on the CPU");
  bool dtype_ok = false;
  for (int32_t d : dtypes) dtype_ok = dtype_ok || t.dtype == d;
  if (!dtype_ok) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has dtype " + dtype_name(t.dtype) + ", expected " +
                                        dtype_list(dtypes));
  }
  bool shape_ok = t.ndim == static_cast<int32_t>(shape.size());
  int i = 0;
  for (int64_t d : shape) shape_ok = shape_ok && t.shape[i++] == d;
  if (!shape_ok) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has shape " + shape_string(t) + ", expected " +
                                        shape_list(shape) + " (" + layout + ")");
  }
  if (!is_contiguous(t)) fail(INCQ_ERR_INVALID_ARGUMENT, where + "is not row-major contiguous");
  // On the CPU, data points at the first element (plugin_api.h); an offset would be ambiguous.
  if (byte_offset_of(t) != 0) fail(INCQ_ERR_INVALID_ARGUMENT, where + "has a byte_offset on the CPU");
  if (t.data == nullptr && numel(t) > 0) fail(INCQ_ERR_INVALID_ARGUMENT, where + "has NULL data");
}

MatrixView check_matrix_arg(const incq_tensor* t, const std::string& layer, const std::string& role,
                            int32_t dtype, int64_t rows, int64_t cols) {
  const std::string where = "layer '" + layer + "': " + role + " ";
  if (t == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + "is NULL");
  if (!INCQ_HAS_FIELD(t, incq_tensor, strides)) {
    fail(INCQ_ERR_ABI, where + "incq_tensor struct_size " + std::to_string(t->struct_size) +
                           " lacks 'strides'");
  }
  if (device_type_of(*t) != INCQ_DEVICE_CPU) fail(INCQ_ERR_INVALID_ARGUMENT, where + "is not on the CPU");
  if (t->ndim != 2) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has ndim " + std::to_string(t->ndim) + ", expected 2");
  }
  if (t->dtype != dtype) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has dtype " + dtype_name(t->dtype) + ", expected " +
                                        dtype_name(dtype));
  }
  const bool rows_ok = rows < 0 ? t->shape[0] >= 0 : t->shape[0] == rows;
  if (!rows_ok || t->shape[1] != cols) {
    fail(INCQ_ERR_INVALID_ARGUMENT,
         where + "has shape " + shape_string(*t) + ", expected [" +
             (rows < 0 ? std::string("M") : std::to_string(rows)) + ", " + std::to_string(cols) + "]");
  }
  if (t->strides[1] != 1 && t->shape[1] > 1) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has last-dimension stride " +
                                        std::to_string(t->strides[1]) + ", expected 1");
  }
  if (t->shape[0] > 1 && t->strides[0] < t->shape[1]) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has row stride " + std::to_string(t->strides[0]) +
                                        ", smaller than its " + std::to_string(t->shape[1]) +
                                        " columns (rows would overlap)");
  }
  if (byte_offset_of(*t) != 0) fail(INCQ_ERR_INVALID_ARGUMENT, where + "has a byte_offset on the CPU");
  if (t->data == nullptr && t->shape[0] > 0 && t->shape[1] > 0) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "has NULL data");
  }
  return MatrixView{static_cast<char*>(t->data), t->dtype, t->shape[0], t->shape[1],
                    t->shape[0] > 1 ? t->strides[0] : t->shape[1], dtype_size(t->dtype)};
}

}  // namespace incq::inc_cpu
