#include "int_fast_options.hpp"

#include <cstdlib>
#include <string>
#include <thread>

#include "incq/plugin_helpers.hpp"
#include "int_fast/worker_pool.hpp"
#include "isa/cpu_isa.hpp"

namespace incq::inc_cpu {
namespace {

std::string key_of(const incq_kv& kv) { return kv.key != nullptr ? kv.key : "<NULL>"; }
std::string value_of(const incq_kv& kv) { return kv.value != nullptr ? kv.value : ""; }

void check_array(const incq_kv* options, size_t num_options, const std::string& who) {
  if (num_options > 0 && options == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, who + ": " + std::to_string(num_options) +
                                        " options announced but the option array is NULL");
  }
}

}  // namespace

void apply_plugin_options(const incq_kv* options, size_t num_options) {
  check_array(options, num_options, "inc_cpu");
  isa::IsaTier cap = isa::IsaTier::kAmx;
  const unsigned hw = std::thread::hardware_concurrency();
  int threads = hw > 0 ? static_cast<int>(hw) : 1;
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = key_of(options[i]), value = value_of(options[i]);
    if (key == "isa") {
      cap = isa::parse_isa_tier(value);
    } else if (key == "max_threads") {
      char* end = nullptr;
      const long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 1 || v > 1024) {
        fail(INCQ_ERR_INVALID_ARGUMENT,
             "inc_cpu: option 'max_threads' = '" + value + "' is not an integer in [1, 1024]");
      }
      threads = static_cast<int>(v);
    } else {
      fail(INCQ_ERR_INVALID_ARGUMENT, "inc_cpu: unknown option '" + key + "' (plugin options: isa, max_threads)");
    }
  }
  isa::set_isa_cap(cap);
  int_fast::start_worker_pool(threads);
}

int_fast::ComputeType parse_compute_type(const incq_kv* options, size_t num_options, const LayerSpec& spec,
                                         std::initializer_list<int_fast::ComputeType> allowed,
                                         const char* int8_elsewhere) {
  using int_fast::ComputeType;
  const std::string who = "layer '" + spec.name + "'";
  check_array(options, num_options, who);
  std::string chosen = "auto";
  for (size_t i = 0; i < num_options; ++i) {
    const std::string key = key_of(options[i]);
    if (key != "compute_type") {
      fail(INCQ_ERR_INVALID_ARGUMENT, who + ": unknown option '" + key + "' (accepted: compute_type)");
    }
    chosen = value_of(options[i]);
  }
  ComputeType ct;
  if (chosen == "auto") {
    ct = spec.act_dtype == INCQ_DTYPE_F32 ? ComputeType::kFp32 : ComputeType::kBf16;
    for (ComputeType a : allowed)
      if (a == ct) return ct;
    return *allowed.begin();  // an int8-only implementation: auto means its one mode
  }
  if (chosen == "fp32") {
    ct = ComputeType::kFp32;
  } else if (chosen == "bf16") {
    ct = ComputeType::kBf16;
  } else if (chosen == "int8") {
    ct = ComputeType::kInt8;
  } else {
    fail(INCQ_ERR_INVALID_ARGUMENT,
         who + ": option 'compute_type' = '" + chosen + "' is not one of fp32, bf16, int8, auto");
  }
  for (ComputeType a : allowed)
    if (a == ct) return ct;
  if (ct == ComputeType::kInt8 && int8_elsewhere != nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT,
         who + ": compute_type = int8 has its own error contract and runs in " + int8_elsewhere +
             " (select it for this layer by backend name, e.g. host config layer_backends), or run the layer as "
             "W4A8 with the host's act_quant int8 (--act-quant int8), which the host verifies against an "
             "oracle that quantizes x the same way");
  }
  std::string list;
  for (ComputeType a : allowed) list += std::string(list.empty() ? "" : ", ") + int_fast::compute_type_name(a);
  fail(INCQ_ERR_INVALID_ARGUMENT,
       who + ": compute_type = " + chosen + " is not available here (accepted: " + list + ", auto)");
}

}  // namespace incq::inc_cpu
