#include "bundle_tensors.hpp"

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu {

BundleTensors::BundleTensors(const incq_weight_bundle* bundle, const std::string& layer)
    : layer_(layer), packing_(INCQ_PACKING_NONE) {
  const std::string where = "layer '" + layer + "': ";
  if (bundle == nullptr) fail(INCQ_ERR_INVALID_ARGUMENT, where + "no weight bundle given");
  if (!INCQ_HAS_FIELD(bundle, incq_weight_bundle, tensors)) {
    fail(INCQ_ERR_ABI, where + "incq_weight_bundle struct_size " +
                           std::to_string(bundle->struct_size) + " lacks 'tensors'");
  }
  packing_ = bundle->packing;
  if (bundle->num_tensors > 0 && bundle->tensors == nullptr) {
    fail(INCQ_ERR_INVALID_ARGUMENT, where + "bundle has " + std::to_string(bundle->num_tensors) +
                                        " tensors but a NULL tensor array");
  }
  for (size_t i = 0; i < bundle->num_tensors; ++i) {
    const incq_named_tensor& named = bundle->tensors[i];
    if (named.name == nullptr) {
      fail(INCQ_ERR_INVALID_ARGUMENT, where + "bundle tensor #" + std::to_string(i) + " has no name");
    }
    if (!INCQ_HAS_FIELD(&named.tensor, incq_tensor, strides)) {
      fail(INCQ_ERR_ABI, where + "tensor '" + named.name + "': incq_tensor struct_size " +
                             std::to_string(named.tensor.struct_size) + " lacks 'strides'");
    }
    if (!tensors_.emplace(named.name, Entry{&named.tensor, false}).second) {
      fail(INCQ_ERR_INVALID_ARGUMENT, where + "tensor '" + named.name + "' appears twice in the bundle");
    }
  }
}

const incq_tensor* BundleTensors::find(const std::string& name) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return nullptr;
  it->second.used = true;
  return it->second.tensor;
}

void BundleTensors::reject_unused() const {
  for (const auto& [name, entry] : tensors_) {
    if (!entry.used) {
      fail(INCQ_ERR_INVALID_ARGUMENT,
           "layer '" + layer_ + "': unexpected tensor '" + name + "' in the weight bundle");
    }
  }
}

}  // namespace incq::inc_cpu
