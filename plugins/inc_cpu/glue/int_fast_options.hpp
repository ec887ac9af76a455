// Options of inc_cpu's fast integer implementations: the plugin-level ones (`isa`, `max_threads`)
// read at initialize, and the per-layer `compute_type`.
#ifndef INCQ_INC_CPU_GLUE_INT_FAST_OPTIONS_HPP
#define INCQ_INC_CPU_GLUE_INT_FAST_OPTIONS_HPP

#include <cstddef>
#include <initializer_list>
#include <string>

#include "incq/plugin_api.h"
#include "int_fast/int_matmul.hpp"
#include "layer_spec.hpp"

namespace incq::inc_cpu {

// Plugin options: `isa` = baseline|avx2|avx512|avx512vnni|avx512bf16|amx caps the kernel tier;
// `max_threads` = N >= 1 bounds inc_cpu's own threads (default: the machine's hardware threads).
// Any other key is an error naming it. Starts the worker pool. Called by initialize (serial).
void apply_plugin_options(const incq_kv* options, size_t num_options);

// The compute type a layer asked for: the `compute_type` option if given (one of `allowed`, or
// "auto"), else auto; auto resolves to bf16 for BF16/F16 activations and fp32 for F32 ones.
// `int8_elsewhere` names the implementation to use when int8 is asked of one that does not take
// it. Throws INVALID_ARGUMENT naming the layer and option on anything else.
int_fast::ComputeType parse_compute_type(const incq_kv* options, size_t num_options, const LayerSpec& spec,
                                         std::initializer_list<int_fast::ComputeType> allowed,
                                         const char* int8_elsewhere);

}  // namespace incq::inc_cpu

#endif
