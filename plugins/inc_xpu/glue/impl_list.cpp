// The implementations inc_xpu registers, in order (registration order breaks priority ties).
// Adding one: declare its descriptor getter in impls.hpp and add one line here.
#include "impls.hpp"

namespace incq::inc_xpu {

std::vector<const incq_impl_desc*> all_impls() {
  return {
      int_wo_linear_impl(),
      int_wo_moe_impl(),
  };
}

}  // namespace incq::inc_xpu
