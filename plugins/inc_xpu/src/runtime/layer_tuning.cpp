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
    } else {
      fail(INCQ_ERR_INVALID_ARGUMENT, who + ": unknown option '" + key +
                                          "' (inc_xpu layers accept decode_tile, prefill_tile, prefill_rows)");
    }
  }
  return t;
}

}  // namespace incq::inc_xpu
