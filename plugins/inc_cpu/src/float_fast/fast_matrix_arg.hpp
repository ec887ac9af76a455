// check_matrix_arg (tensor_checks.hpp) without its cost on the hot path: that check composes its
// message prefix up front (heap allocations on every call); this one tests the same conditions and
// only calls check_matrix_arg — which then throws with its exact message — when one fails.
#ifndef INCQ_INC_CPU_FLOAT_FAST_FAST_MATRIX_ARG_HPP
#define INCQ_INC_CPU_FLOAT_FAST_FAST_MATRIX_ARG_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "incq/plugin_helpers.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {

inline MatrixView fast_matrix_arg(const incq_tensor* t, const std::string& layer, const char* role, int32_t dtype,
                                  int64_t rows, int64_t cols) {
  const bool ok =
      t != nullptr && INCQ_HAS_FIELD(t, incq_tensor, strides) &&
      t->struct_size >= offsetof(incq_tensor, device_index) + sizeof t->device_index &&
      t->device_type == INCQ_DEVICE_CPU && t->byte_offset == 0 && t->ndim == 2 && t->dtype == dtype &&
      (rows < 0 ? t->shape[0] >= 0 : t->shape[0] == rows) && t->shape[1] == cols &&
      (t->strides[1] == 1 || t->shape[1] <= 1) && (t->shape[0] <= 1 || t->strides[0] >= t->shape[1]) &&
      (t->data != nullptr || t->shape[0] == 0 || t->shape[1] == 0);
  // Anything unusual (including an older struct without the placement fields) takes the full check.
  if (!ok) return check_matrix_arg(t, layer, role, dtype, rows, cols);
  return MatrixView{static_cast<char*>(t->data), t->dtype, t->shape[0], t->shape[1],
                    t->shape[0] > 1 ? t->strides[0] : t->shape[1], dtype_size(t->dtype)};
}

}  // namespace incq::inc_cpu

#endif
