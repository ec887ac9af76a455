#include "quant/tensor_read.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint bytes are read in host order");

namespace incq::host::quant {
namespace {

// INCQ_HAS_FIELD without its NULL test (t is a reference here): an old, shorter incq_tensor lacks
// the later fields and must not be read past its end.
bool has_field(const incq_tensor& t, size_t offset, size_t size) { return t.struct_size >= offset + size; }

}  // namespace

int64_t TensorCopy::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

TensorCopy read_tensor(const std::string& layer, const std::string& name, const incq_tensor& t,
                       const std::vector<int32_t>& dtypes) {
  auto fail = [&](const std::string& what) { throw Error(fmt::format("{}: {}: {}", layer, name, what)); };
  if (!has_field(t, offsetof(incq_tensor, strides), sizeof(t.strides)))
    fail(fmt::format("struct_size {} is too small for an incq_tensor", t.struct_size));
  const bool has_dev = has_field(t, offsetof(incq_tensor, device_type), sizeof(t.device_type));
  if (has_dev && t.device_type != INCQ_DEVICE_CPU) fail(fmt::format("device_type {}, expected CPU", t.device_type));
  bool dtype_ok = false;
  std::vector<std::string> names;
  for (int32_t d : dtypes) {
    dtype_ok = dtype_ok || d == t.dtype;
    names.emplace_back(incq::dtype_name(d));
  }
  if (!dtype_ok) fail(fmt::format("dtype {}, expected {}", incq::dtype_name(t.dtype), fmt::join(names, " or ")));
  if (t.ndim < 0 || t.ndim > INCQ_MAX_DIMS) fail(fmt::format("ndim {} out of range", t.ndim));
  TensorCopy out;
  out.dtype = t.dtype;
  out.shape.assign(t.shape, t.shape + t.ndim);
  for (int64_t d : out.shape)
    if (d < 0) fail(fmt::format("negative dimension in shape {}", shape_string(out.shape)));
  const size_t esize = incq::dtype_size(t.dtype);
  const int64_t count = out.numel();
  out.bytes.resize(static_cast<size_t>(count) * esize);
  if (count == 0) return out;
  if (t.data == nullptr) fail("data is NULL");
  const uint64_t byte_offset = has_field(t, offsetof(incq_tensor, byte_offset), sizeof(t.byte_offset)) ? t.byte_offset : 0;
  const auto* base = static_cast<const uint8_t*>(t.data) + byte_offset;
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i, elem = 0;
    for (int d = t.ndim - 1; d >= 0; --d) {
      elem += (rest % t.shape[d]) * t.strides[d];
      rest /= t.shape[d];
    }
    std::memcpy(&out.bytes[static_cast<size_t>(i) * esize], base + elem * static_cast<int64_t>(esize), esize);
  }
  return out;
}

void expect_shape(const std::string& layer, const std::string& name, const TensorCopy& t,
                  const std::vector<int64_t>& shape, const std::string& meaning) {
  if (t.shape != shape)
    throw Error(fmt::format("{}: {}: shape {}, expected {} ({})", layer, name, shape_string(t.shape),
                            shape_string(shape), meaning));
}

std::vector<double> float_values(const std::string& layer, const std::string& name, const TensorCopy& t) {
  const int64_t n = t.numel();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double v = 0;
    if (t.dtype == INCQ_DTYPE_F32) {
      float f;
      std::memcpy(&f, &t.bytes[i * 4], 4);
      v = f;
    } else if (t.dtype == INCQ_DTYPE_F16 || t.dtype == INCQ_DTYPE_BF16) {
      uint16_t h;
      std::memcpy(&h, &t.bytes[i * 2], 2);
      v = t.dtype == INCQ_DTYPE_F16 ? incq::half_to_float(h) : incq::bf16_to_float(h);
    } else {
      throw Error(fmt::format("{}: {}: dtype {} is not a float type", layer, name, incq::dtype_name(t.dtype)));
    }
    if (!std::isfinite(v))
      throw Error(fmt::format("{}: {}[{}] is {}", layer, name, i, std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf")));
    out[static_cast<size_t>(i)] = v;
  }
  return out;
}

}  // namespace incq::host::quant
