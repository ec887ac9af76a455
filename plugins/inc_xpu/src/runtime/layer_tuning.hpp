// Per-layer launch options (host `layer_options` / `--layer-option`), for tuning on a new device:
//   decode_tile   LXxLY   work-group of the decode kernels: LX column quads x LY k-slices (16x16)
//   prefill_tile  LXxLY   the same for the prefill (8-row) kernels (16x8)
//   prefill_rows  M       from this many rows on, the 8-row kernels run (5)
//   compute_type  fp32|auto   the host-wide key; inc_xpu computes in f32 (others are refused)
//   tensor_cores  auto|on|off NVIDIA only: the TF32 mma GEMM for bf16/f16 activations (auto: from
//                             tensor_core_rows rows on; on: from 1 row; off: never)
//   tensor_core_rows M        (2)
//   tensor_core_warps LY      warps per work-group of the mma GEMM, along K (8)
//   tensor_core_splits S      K split across work-groups for M <= 64 (0 = auto = no split, which
//                             measured fastest on the H100; 1 = no split) (0)
//   gemv          auto|on|off  the split-K GEMV (int_wo_gemv_Rx128_splitk.cl) for M <= gemv_rows
//                              where it applies (2/4/8 bits, no g_idx, groups of 32k or one, N % 4
//                              == 0); auto = where it builds and the tensor-core GEMM does not
//                              take the rows; on = before the tensor cores, an error where it
//                              cannot run
//   gemv_rows     M            largest M the GEMV serves, 1..16 (16)
//   gemv_warps    W            warps per work-group, along K (4)
//   gemv_kblocks  KB           32-row k-blocks per work-group (K split into ceil(K/32/KB) parts);
//                              0 = ~8 work-groups per compute unit (0)
// Unknown keys are errors naming the layer.
#ifndef INCQ_INC_XPU_LAYER_TUNING_HPP
#define INCQ_INC_XPU_LAYER_TUNING_HPP

#include <cstddef>
#include <string>

#include "incq/plugin_api.h"

namespace incq::inc_xpu {

struct Tile {
  size_t lx = 16, ly = 16;
};

struct LayerTuning {
  Tile decode{16, 16};
  Tile prefill{16, 8};
  int prefill_rows = 5;
  std::string tensor_cores = "auto";
  int tensor_core_rows = 2;
  size_t tensor_core_warps = 8;
  int tensor_core_splits = 0;
  std::string gemv = "auto";
  int gemv_rows = 16;
  int gemv_warps = 4;
  int gemv_kblocks = 0;
};

LayerTuning parse_layer_tuning(const incq_kv* options, size_t num_options, const std::string& who);

}  // namespace incq::inc_xpu

#endif
