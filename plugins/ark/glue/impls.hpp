// The ark plugin's registered implementations.
#ifndef INCQ_ARK_GLUE_IMPLS_HPP
#define INCQ_ARK_GLUE_IMPLS_HPP

#include <vector>

#include "incq/plugin_api.h"

namespace incq::ark {

const incq_impl_desc* cpu_int_wo_linear_impl();  // ark.cpu.int_wo_linear
const incq_impl_desc* xpu_int_wo_linear_impl();  // ark.xpu.int_wo_linear (reported, never usable here)

inline std::vector<const incq_impl_desc*> all_impls() {
  return {cpu_int_wo_linear_impl(), xpu_int_wo_linear_impl()};
}

}  // namespace incq::ark

#endif
