#include "quant/dequantize.hpp"

#include "incq/plugin_helpers.hpp"

namespace incq::host::quant {

std::vector<double> dequantize(const IntWeights& w) {
  std::vector<double> out(static_cast<size_t>(w.K * w.N));
  for (int64_t k = 0; k < w.K; ++k) {
    const int64_t g = w.group_of(k);
    for (int64_t n = 0; n < w.N; ++n) {
      const double scale = incq::half_to_float(w.scales[g * w.N + n]);
      out[k * w.N + n] = scale * (static_cast<double>(w.q[k * w.N + n]) - w.zeros[g * w.N + n]);
    }
  }
  return out;
}

}  // namespace incq::host::quant
