// The implementations inc_cpu registers, and small helpers shared by their ABI entries.
#ifndef INCQ_INC_CPU_GLUE_IMPLS_HPP
#define INCQ_INC_CPU_GLUE_IMPLS_HPP

#include <string>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

// Descriptors are static: OWNED(plugin) for the plugin's whole life, as register_impl requires.
const incq_impl_desc* int_wo_linear_impl();
const incq_impl_desc* int_wo_moe_impl();
const incq_impl_desc* fp8_linear_impl();
const incq_impl_desc* fp8_moe_impl();
const incq_impl_desc* w4a8_int_linear_impl();
const incq_impl_desc* w4a8_int_moe_impl();
const incq_impl_desc* mx_fp_linear_impl();
const incq_impl_desc* nv_fp_linear_impl();
const incq_impl_desc* mx_int_linear_impl();
const incq_impl_desc* mx_fp_moe_impl();
const incq_impl_desc* nv_fp_moe_impl();
const incq_impl_desc* mx_int_moe_impl();
// Fast integer Linear (src/int_fast): weight-only fp32/bf16, weight-only int8, W4A8.
const incq_impl_desc* int_fast_linear_impl();
const incq_impl_desc* int_fast_linear_int8_impl();
const incq_impl_desc* w4a8_fast_linear_impl();
// Fast float formats (cpu-float): FP8, MX/NV Linear and MoE.
const incq_impl_desc* fp8_fast_linear_impl();
const incq_impl_desc* fp8_fast_moe_impl();
const incq_impl_desc* mx_fp_fast_linear_impl();
const incq_impl_desc* nv_fp_fast_linear_impl();
const incq_impl_desc* mx_int_fast_linear_impl();
const incq_impl_desc* mx_fp_fast_moe_impl();
const incq_impl_desc* nv_fp_fast_moe_impl();
const incq_impl_desc* mx_int_fast_moe_impl();
// Fast MoE over cpu-int's integer kernels (cpu-float's driver).
const incq_impl_desc* int_fast_moe_impl();

// Every implementation inc_cpu registers, in registration order (glue/impl_list.cpp).
std::vector<const incq_impl_desc*> all_impls();

// The layer options of an exact implementation (the references): only `compute_type`, which it
// accepts and ignores — it computes exactly, inside the bound of every mode (docs/compute_modes.md),
// so a host that sets compute_type for every layer still gets its reference-served layers. Any
// other key, or a value that is no mode, is an error that names it (a typo must be visible).
inline void accept_exact_layer_options(const incq_kv* options, size_t num_options, const std::string& who) {
  if (num_options > 0 && options == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, who + ": " + std::to_string(num_options) +
                                        " options announced but the option array is NULL");
  }
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = options[i].key != nullptr ? options[i].key : "<NULL>";
    const std::string value = options[i].value != nullptr ? options[i].value : "<NULL>";
    if (key != "compute_type")
      fail(INCQ_ERR_INVALID_ARGUMENT, who + ": unknown option '" + key + "' (accepted: compute_type)");
    if (value != "fp32" && value != "bf16" && value != "int8" && value != "auto")
      fail(INCQ_ERR_INVALID_ARGUMENT,
           who + ": option 'compute_type' = '" + value + "' is not one of fp32, bf16, int8, auto");
  }
}

}  // namespace incq::inc_cpu

#endif
