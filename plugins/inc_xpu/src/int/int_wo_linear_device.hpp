// An integer weight-only Linear resident on the device, and its launch (int_wo_linear.cl).
#ifndef INCQ_INC_XPU_INT_WO_LINEAR_DEVICE_HPP
#define INCQ_INC_XPU_INT_WO_LINEAR_DEVICE_HPP

#include <string>

#include "device_buffer.hpp"
#include "int_device_matrix.hpp"
#include "int_wo_gemv_device.hpp"
#include "launch.hpp"
#include "layer_tuning.hpp"

namespace incq::inc_xpu {

// One matrix's device buffers (shared by Linear layers and each MoE projection).
struct IntDeviceBuffers {
  int32_t bits = 0;
  int64_t K = 0, N = 0;
  int32_t group_size = 0, zero_add = 0, has_g_idx = 0, bias_dtype = 0;
  DeviceBuffer qweight, zeros, scales, g_idx, bias;
  uint64_t resident = 0;
};

IntDeviceBuffers upload_int_matrix(const Session& s, const IntDeviceImage& img, const std::string& what);

struct IntWoLinearDevice {
  IntDeviceBuffers w;
  Kernel decode, prefill;  // int_wo_linear_b<bits>_r1 / _r8
  Kernel mma;              // int_wo_gemm_16xT_tf32mma_nv_b<bits>, when available
  bool has_mma = false;
  std::string mma_reason;  // why not, when !has_mma
  int64_t compute_units = 1;
  IntWoGemv gemv;          // the split-K GEMV for M <= gemv.max_rows, when available
  bool has_gemv = false;
  std::string gemv_reason;  // why not, when !has_gemv
};

// mma_program: the NVIDIA tensor-core program, or nullptr (mma_reason says why); the same for
// gemv_program (the split-K GEMV, planned with `t`).
IntWoLinearDevice make_int_wo_linear(const Session& s, cl_program program, cl_program mma_program,
                                     const std::string& mma_reason, cl_program gemv_program,
                                     const std::string& gemv_reason, const LayerTuning& t, const IntDeviceImage& img,
                                     const std::string& what);

// Enqueues y[M,N] = x[M,K] . W + b on s's queue; x/y are cl_mem with element offsets.
void enqueue_int_wo_linear(const Session& s, const IntWoLinearDevice& l, const LayerTuning& t, cl_mem x,
                           uint32_t x_off, cl_mem y, uint32_t y_off, int64_t M);

}  // namespace incq::inc_xpu

#endif
