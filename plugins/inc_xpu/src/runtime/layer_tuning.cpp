#include "layer_tuning.hpp"

#include <cstdio>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_xpu {
namespace {

Tile parse_tile(const std::string& v, const std::string& who, const std::string& key) {
  unsigned lx = 0, ly = 0;
  char tail = 0;
  if (std::sscanf(v.c_str(), "%ux%u%c", &lx, &ly, &tail) != 2 || lx == 0 || ly == 0 || lx * ly > 1024)
    fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option " + key + " must be LXxLY with LX*LY <= 1024, got '" + v + "'");
  return {lx, ly};
}

}  // namespace

LayerTuning parse_layer_tuning(const incq_kv* options, size_t num_options, const std::string& who) {
  LayerTuning t;
  if (num_options > 0 && options == nullptr)
    fail(INCQ_ERR_INVALID_ARGUMENT, who + ": " + std::to_string(num_options) + " options announced but the array is NULL");
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = options[i].key ? options[i].key : "<NULL>";
    const std::string value = options[i].value ? options[i].value : "";
    if (key == "decode_tile") {
      t.decode = parse_tile(value, who, key);
    } else if (key == "prefill_tile") {
      t.prefill = parse_tile(value, who, key);
    } else if (key == "prefill_rows") {
      int r = 0;
      char tail = 0;
      if (std::sscanf(value.c_str(), "%d%c", &r, &tail) != 1 || r < 1)
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option prefill_rows must be a positive integer, got '" + value + "'");
      t.prefill_rows = r;
    } else if (key == "tensor_cores") {
      if (value != "auto" && value != "on" && value != "off")
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option tensor_cores must be auto, on or off, got '" + value + "'");
      t.tensor_cores = value;
    } else if (key == "tensor_core_rows" || key == "tensor_core_warps") {
      int r = 0;
      char tail = 0;
      if (std::sscanf(value.c_str(), "%d%c", &r, &tail) != 1 || r < 1 || r > 32)
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option " + key + " must be an integer in 1..32, got '" + value + "'");
      if (key == "tensor_core_rows") t.tensor_core_rows = r;
      else t.tensor_core_warps = static_cast<size_t>(r);
    } else if (key == "tensor_core_splits") {
      int r = 0;
      char tail = 0;
      if (std::sscanf(value.c_str(), "%d%c", &r, &tail) != 1 || r < 0 || r > 64)
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option tensor_core_splits must be an integer in 0..64, got '" + value + "'");
      t.tensor_core_splits = r;
    } else if (key == "gemv") {
      if (value != "auto" && value != "on" && value != "off")
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option gemv must be auto, on or off, got '" + value + "'");
      t.gemv = value;
    } else if (key == "gemv_rows" || key == "gemv_warps" || key == "gemv_kblocks") {
      int r = 0;
      char tail = 0;
      const int lo = key == "gemv_kblocks" ? 0 : 1, hi = key == "gemv_rows" ? 16 : key == "gemv_warps" ? 16 : 4096;
      if (std::sscanf(value.c_str(), "%d%c", &r, &tail) != 1 || r < lo || r > hi)
        fail(INCQ_ERR_INVALID_ARGUMENT, who + ": option " + key + " must be an integer in " + std::to_string(lo) + ".." +
                                            std::to_string(hi) + ", got '" + value + "'");
      if (key == "gemv_rows") t.gemv_rows = r;
      else if (key == "gemv_warps") t.gemv_warps = r;
      else t.gemv_kblocks = r;
    } else if (key == "compute_type") {
      // The host-wide key (fp32 | bf16 | int8 | auto): inc_xpu's kernels compute in f32 only.
      if (value != "fp32" && value != "auto")
        fail(INCQ_ERR_UNSUPPORTED, who + ": compute_type '" + value + "' is not available in inc_xpu (f32 only; use fp32 or auto)");
    } else {
      fail(INCQ_ERR_INVALID_ARGUMENT, who + ": unknown option '" + key +
                                          "' (inc_xpu layers accept decode_tile, prefill_tile, prefill_rows, compute_type, tensor_cores, tensor_core_rows, tensor_core_warps, tensor_core_splits, gemv, gemv_rows, gemv_warps, gemv_kblocks)");
    }
  }
  return t;
}

}  // namespace incq::inc_xpu
