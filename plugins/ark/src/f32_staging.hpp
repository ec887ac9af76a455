// ARK's CPU GEMM reads and writes fp32 rows: activations of other dtypes or strides are staged
// through per-thread buffers that grow to the largest call and are then reused (apply allocates
// nothing in steady state).
#ifndef INCQ_ARK_F32_STAGING_HPP
#define INCQ_ARK_F32_STAGING_HPP

#include <cstdint>

#include "incq/plugin_api.h"

namespace incq::ark {

// x [M, K] (F32/BF16/F16, rows may be strided) as contiguous fp32: x's own memory when it already
// is, else the calling thread's input buffer.
const float* stage_input(const incq_tensor& x);

// Where ARK should write y [M, N]: y's memory when it is contiguous fp32, else the calling
// thread's output buffer, copied out by finish_output.
float* output_target(incq_tensor& y);
void finish_output(incq_tensor& y, const float* result);

}  // namespace incq::ark

#endif
