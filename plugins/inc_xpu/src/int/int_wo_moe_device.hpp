// Integer weight-only MoE experts resident on the device (every expert's matrices back to back per
// projection, in the int device layout) and their per-expert launches (kernels_cl/int_wo_moe.cl)
// for the shared MoeDriver.
#ifndef INCQ_INC_XPU_INT_WO_MOE_DEVICE_HPP
#define INCQ_INC_XPU_INT_WO_MOE_DEVICE_HPP

#include <string>
#include <vector>

#include "int_device_matrix.hpp"
#include "int_wo_linear_device.hpp"
#include "layer_tuning.hpp"
#include "moe/moe_driver.hpp"

namespace incq::inc_xpu {

// One projection of every expert: the buffers of IntDeviceBuffers, E experts at fixed strides.
struct IntExpertStack {
  IntDeviceBuffers w;  // K, N, bits, group, zero_add of one expert; buffers hold all E
  uint32_t qw_stride = 0, sc_stride = 0, z_stride = 0, gi_stride = 0;  // elements per expert
};

IntExpertStack upload_int_experts(const Session& s, const std::vector<IntDeviceImage>& experts, const std::string& what);

class IntWoMoeExperts : public MoeExpertKernels {
 public:
  IntWoMoeExperts() = default;
  IntWoMoeExperts(cl_program program, int32_t bits, IntExpertStack gate, IntExpertStack up, IntExpertStack down,
                  LayerTuning tuning);
  int32_t rows_per_tile(int64_t pairs) const override;
  void enqueue_gate_up(const Session& s, const MoeRouting& r, cl_mem x, uint32_t x_off, cl_mem h) const override;
  void enqueue_down(const Session& s, const MoeRouting& r, cl_mem h, cl_mem ypair) const override;
  uint64_t resident() const { return gate_.w.resident + up_.w.resident + down_.w.resident; }

 private:
  IntExpertStack gate_, up_, down_;
  LayerTuning tuning_;
  Kernel gate_up1_, gate_up8_, down1_, down8_;
};

}  // namespace incq::inc_xpu

#endif
