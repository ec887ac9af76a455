// The split-K GEMV of an integer weight-only Linear (kernels_cl/int_wo_gemv_Rx128_splitk.cl) for
// M <= 16 rows: which layers it applies to, its launch plan per row variant (R = 1, 4, 16 rows per
// work-group) fixed at process time, and its launch.
#ifndef INCQ_INC_XPU_INT_WO_GEMV_DEVICE_HPP
#define INCQ_INC_XPU_INT_WO_GEMV_DEVICE_HPP

#include <array>
#include <string>

#include "int_device_matrix.hpp"
#include "launch.hpp"
#include "layer_tuning.hpp"

namespace incq::inc_xpu {

struct IntDeviceBuffers;

// "" when the GEMV kernels can serve `img`, else why not.
std::string int_wo_gemv_reason(const IntDeviceImage& img);

struct GemvVariant {
  Kernel kernel;          // int_wo_gemv_b<bits>_r<R>x128_splitk
  int rows = 1;           // R
  size_t warps = 1;       // W
  int kblocks = 1;        // 32-row k-blocks per work-group
  int splits = 1;         // ceil(ceil(K/32) / kblocks)
  size_t local_bytes = 0;
};

struct IntWoGemv {
  std::array<GemvVariant, 3> v;  // R = 1, 4, 16
  int max_rows = 16;
  // The variant for M rows (M <= max_rows).
  const GemvVariant& for_rows(int64_t M) const { return M == 1 ? v[0] : M <= 4 ? v[1] : v[2]; }
};

// Plans the three variants for the device of `s` and reserves their share of the queue's split-K
// scratch. Throws when the program's kernels are missing.
IntWoGemv make_int_wo_gemv(const Session& s, cl_program program, const IntDeviceImage& img, const LayerTuning& t);

void enqueue_int_wo_gemv(const Session& s, const IntWoGemv& g, const IntDeviceBuffers& w, cl_mem x, uint32_t x_off,
                         cl_mem y, uint32_t y_off, int64_t M);

}  // namespace incq::inc_xpu

#endif
