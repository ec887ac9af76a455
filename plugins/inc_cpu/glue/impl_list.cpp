// The implementations inc_cpu registers, in order (registration order breaks priority ties).
// Adding an implementation: declare its descriptor getter in impls.hpp and add one line here.
#include "impls.hpp"

namespace incq::inc_cpu {

std::vector<const incq_impl_desc*> all_impls() {
  return {
      int_fast_linear_impl(),
      int_fast_linear_int8_impl(),
      w4a8_fast_linear_impl(),
      int_wo_linear_impl(),
      int_wo_moe_impl(),
      fp8_linear_impl(),
      fp8_moe_impl(),
      w4a8_int_linear_impl(),
      w4a8_int_moe_impl(),
      mx_fp_linear_impl(),
      nv_fp_linear_impl(),
      mx_int_linear_impl(),
      mx_fp_moe_impl(),
      nv_fp_moe_impl(),
      mx_int_moe_impl(),
      fp8_fast_linear_impl(),
      fp8_fast_moe_impl(),
      mx_fp_fast_linear_impl(),
      nv_fp_fast_linear_impl(),
      mx_int_fast_linear_impl(),
      mx_fp_fast_moe_impl(),
      nv_fp_fast_moe_impl(),
      mx_int_fast_moe_impl(),
      int_fast_moe_impl(),
  };
}

}  // namespace incq::inc_cpu
