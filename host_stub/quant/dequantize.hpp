// IntWeights back to real numbers: the first half of the oracle (DESIGN §5).
#pragma once

#include <vector>

#include "quant/int_weights.hpp"

namespace incq::host::quant {

// [K*N], element (k, n) at k*N + n: scale(g, n) * (q(k, n) - zero(g, n)) in double, g = group_of(k).
// Exact: fp16 scales and small integers are represented exactly in double, and so is their product.
std::vector<double> dequantize(const IntWeights& w);

}  // namespace incq::host::quant
