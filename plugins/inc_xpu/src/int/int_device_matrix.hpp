// One integer weight-only matrix in inc_xpu's single device layout (the GPTQ layout; see
// kernels_cl/int_wo_tile_f32acc.cl): GPTQ v1/v2 are uploaded as stored, AWQ is repacked into it,
// and v1's stored zero-1 becomes zero_add = 1. Resident bytes equal the checkpoint's.
#ifndef INCQ_INC_XPU_INT_DEVICE_MATRIX_HPP
#define INCQ_INC_XPU_INT_DEVICE_MATRIX_HPP

#include <cstdint>
#include <vector>

#include "int_wo_matrix.hpp"

namespace incq::inc_xpu {

// The host-side image of the device layout, built from a validated checkpoint matrix.
struct IntDeviceImage {
  int32_t bits = 0;
  int64_t K = 0, N = 0;
  int32_t group_size = 0;  // effective (K when the scheme says -1)
  int32_t zero_add = 0;
  std::vector<uint32_t> qweight;  // [ceil(K*bits/32)][N]
  std::vector<uint32_t> zeros;    // [groups][ceil(N*bits/32)]
  std::vector<uint16_t> scales;   // [groups][N] f16 bits
  std::vector<int32_t> g_idx;     // [K] or empty
  int32_t bias_dtype = 0;         // 0: none
  std::vector<uint8_t> bias;
  uint64_t bytes() const;
};

IntDeviceImage make_int_device_image(const inc_cpu::IntWoMatrix& m);

}  // namespace incq::inc_xpu

#endif
