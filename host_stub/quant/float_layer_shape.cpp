#include "quant/float_layer_shape.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"

namespace incq::host::quant {

std::pair<int64_t, int64_t> infer_float_kn(const std::vector<int64_t>& weight_shape, const incq_scheme& scheme) {
  const bool packed = scheme.family != INCQ_FAMILY_FP8 && scheme.bits == 4;
  if (weight_shape.size() != 2 || weight_shape[0] <= 0 || weight_shape[1] <= 0)
    throw Error(fmt::format("{} shape [{}]: expected [N, {}] with positive sizes", packed ? "weight_packed" : "weight",
                            fmt::join(weight_shape, ", "), packed ? "K/2" : "K"));
  return {packed ? weight_shape[1] * 2 : weight_shape[1], weight_shape[0]};
}

}  // namespace incq::host::quant
