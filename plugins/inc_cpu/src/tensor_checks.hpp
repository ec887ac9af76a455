// Validation of tensors crossing the ABI, with messages that name the layer and the tensor.
#ifndef INCQ_INC_CPU_TENSOR_CHECKS_HPP
#define INCQ_INC_CPU_TENSOR_CHECKS_HPP

#include <cstdint>
#include <initializer_list>
#include <string>

#include "incq/plugin_api.h"

namespace incq::inc_cpu {

std::string shape_string(const incq_tensor& t);

// A checkpoint tensor on the CPU: row-major contiguous, one of `dtypes`, exactly `shape`.
// `layout` explains the expected shape in the message (e.g. "GPTQ 4-bit [K*bits/32, N]").
void check_weight_tensor(const incq_tensor& t, const std::string& layer, const std::string& tensor,
                         std::initializer_list<int32_t> dtypes,
                         std::initializer_list<int64_t> shape, const std::string& layout);

// A 2-D activation-like view: rows may be strided, elements within a row are contiguous.
struct MatrixView {
  char* data;  // first element
  int32_t dtype;
  int64_t rows;
  int64_t cols;
  int64_t row_stride;  // in elements
  size_t elem_size;
  void* at(int64_t r, int64_t c) const {
    return data + (static_cast<size_t>(r * row_stride + c)) * elem_size;
  }
};

// Checks an apply argument: CPU, ndim 2, unit last stride, non-overlapping rows, the given dtype,
// `cols` columns and (when rows >= 0) `rows` rows. `role` names it ("x", "topk_ids", ...).
MatrixView check_matrix_arg(const incq_tensor* t, const std::string& layer, const std::string& role,
                            int32_t dtype, int64_t rows, int64_t cols);

}  // namespace incq::inc_cpu

#endif
