#include "layer_spec.hpp"

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {
namespace {

[[noreturn]] void missing(const char* what, const char* field, size_t struct_size) {
  fail(INCQ_ERR_ABI, std::string(what) + " struct_size " + std::to_string(struct_size) +
                         " lacks the field '" + field + "'");
}

}  // namespace

LayerSpec read_layer_desc(const incq_layer_desc* desc) {
  if (desc == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, "no layer desc given");
  // Every field up to top_k exists since ABI 1.0; only the partitions may be absent.
  if (!INCQ_HAS_FIELD(desc, incq_layer_desc, top_k)) {
    missing("incq_layer_desc", "top_k", desc->struct_size);
  }
  LayerSpec s;
  s.name = desc->name != nullptr ? desc->name : "<unnamed>";
  s.module_kind = desc->module_kind;

  const incq_scheme* scheme = &desc->scheme;
  if (!INCQ_HAS_FIELD(scheme, incq_scheme, packing)) {
    missing("incq_scheme", "packing", scheme->struct_size);
  }
  s.family = scheme->family;
  s.bits = scheme->bits;
  s.group_size = scheme->group_size;
  s.sym = scheme->sym;
  s.packing = scheme->packing;
  if (INCQ_HAS_FIELD(scheme, incq_scheme, act_bits)) s.act_bits = scheme->act_bits;
  if (INCQ_HAS_FIELD(scheme, incq_scheme, has_g_idx)) s.has_g_idx = scheme->has_g_idx;
  if (INCQ_HAS_FIELD(scheme, incq_scheme, act_dynamic)) s.act_dynamic = scheme->act_dynamic;
  if (INCQ_HAS_FIELD(scheme, incq_scheme, weight_dtype)) s.weight_dtype = scheme->weight_dtype;
  if (INCQ_HAS_FIELD(scheme, incq_scheme, block_k)) {
    s.block_n = scheme->block_n;
    s.block_k = scheme->block_k;
  }
  if (INCQ_HAS_FIELD(scheme, incq_scheme, act_sym)) {
    s.act_family = scheme->act_family;
    s.act_group_size = scheme->act_group_size;
    s.act_sym = scheme->act_sym;
  }

  s.act_dtype = desc->act_dtype;
  s.has_bias = desc->has_bias;
  s.in_features = desc->in_features;
  s.out_features = desc->out_features;
  s.num_experts = desc->num_experts;
  s.hidden_size = desc->hidden_size;
  s.intermediate_size = desc->intermediate_size;
  s.top_k = desc->top_k;

  if (INCQ_HAS_FIELD(desc, incq_layer_desc, output_partition_sizes) &&
      desc->num_output_partitions > 1) {
    if (desc->output_partition_sizes == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT, "layer '" + s.name + "': num_output_partitions = " +
                                          std::to_string(desc->num_output_partitions) +
                                          " but output_partition_sizes is NULL");
    }
    s.output_partitions.assign(desc->output_partition_sizes,
                               desc->output_partition_sizes + desc->num_output_partitions);
  }
  return s;
}

}  // namespace incq::inc_cpu
