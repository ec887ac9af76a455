// Copying a checkpoint tensor view out as contiguous bytes, with the checks every float-format
// reader needs (CPU, dtype, rank, shape), failing with messages that name layer and tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host::quant {

struct TensorCopy {
  int32_t dtype = INCQ_DTYPE_INVALID;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // row-major, contiguous
  int64_t numel() const;
};

// Reads t (any strides, possibly unaligned) after checking it is a CPU tensor of one of `dtypes`.
// Throws incq::host::Error "<layer>: <name>: ..." otherwise.
TensorCopy read_tensor(const std::string& layer, const std::string& name, const incq_tensor& t,
                       const std::vector<int32_t>& dtypes);

// Throws "<layer>: <name>: shape [a, b], expected [c, d] (<meaning>)" unless t.shape == shape.
void expect_shape(const std::string& layer, const std::string& name, const TensorCopy& t,
                  const std::vector<int64_t>& shape, const std::string& meaning);

// The elements of an F32 / F16 / BF16 tensor as doubles (exact); a NaN or Inf element throws an
// error naming its flat index.
std::vector<double> float_values(const std::string& layer, const std::string& name, const TensorCopy& t);

std::string shape_string(const std::vector<int64_t>& shape);  // "[a, b]"

}  // namespace incq::host::quant
