// A checkpoint tensor as the packer writes it: safetensors-style name, dtype, shape, raw bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::host::quant {

struct PackedTensor {
  std::string name;             // "qweight", "qzeros", "scales", "g_idx"
  int32_t dtype;                // incq_dtype
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;   // row-major, little-endian elements
};

// A borrowed, contiguous CPU view of t (valid while t lives and is not resized).
inline incq_tensor tensor_view(const PackedTensor& t) {
  incq_tensor v{};
  v.struct_size = sizeof(incq_tensor);
  v.data = const_cast<uint8_t*>(t.bytes.data());
  v.dtype = t.dtype;
  v.ndim = static_cast<int32_t>(t.shape.size());
  int64_t stride = 1;
  for (int i = v.ndim - 1; i >= 0; --i) {
    v.shape[i] = t.shape[i];
    v.strides[i] = stride;
    stride *= t.shape[i];
  }
  v.device_type = INCQ_DEVICE_CPU;
  return v;
}

}  // namespace incq::host::quant
