// The implementations inc_xpu registers (glue/impl_list.cpp), one glue file each.
#ifndef INCQ_INC_XPU_GLUE_IMPLS_HPP
#define INCQ_INC_XPU_GLUE_IMPLS_HPP

#include <vector>

#include "incq/plugin_api.h"

namespace incq::inc_xpu {

// Descriptors are static: OWNED(plugin) for the plugin's whole life, as register_impl requires.
const incq_impl_desc* int_wo_linear_impl();
const incq_impl_desc* int_wo_moe_impl();
// Float formats and W4A8 (xpu-float): glue/{fp8,mx,nv,w4a8}_{linear,moe}_impl.cpp.
const incq_impl_desc* fp8_linear_impl();
const incq_impl_desc* mx_fp_linear_impl();
const incq_impl_desc* mx_int_linear_impl();
const incq_impl_desc* nv_fp_linear_impl();
const incq_impl_desc* w4a8_linear_impl();
const incq_impl_desc* fp8_moe_impl();
const incq_impl_desc* mx_fp_moe_impl();
const incq_impl_desc* mx_int_moe_impl();
const incq_impl_desc* w4a8_moe_impl();


std::vector<const incq_impl_desc*> all_impls();

}  // namespace incq::inc_xpu

#endif
