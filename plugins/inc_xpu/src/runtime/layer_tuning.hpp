// Per-layer launch options (host `layer_options` / `--layer-option`), for tuning on a new device:
//   decode_tile   LXxLY   work-group of the decode kernels: LX column quads x LY k-slices (16x16)
//   prefill_tile  LXxLY   the same for the prefill (8-row) kernels (16x8)
//   prefill_rows  M       from this many rows on, the 8-row kernels run (5)
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
};

LayerTuning parse_layer_tuning(const incq_kv* options, size_t num_options, const std::string& who);

}  // namespace incq::inc_xpu

#endif
