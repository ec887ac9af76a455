// Name lookup over an incq_weight_bundle that also notices tensors nobody asked for.
#ifndef INCQ_INC_CPU_BUNDLE_TENSORS_HPP
#define INCQ_INC_CPU_BUNDLE_TENSORS_HPP

#include <map>
#include <string>

#include "incq/plugin_api.h"

namespace incq::inc_cpu {

class BundleTensors {
 public:
  // Checks the bundle's struct_size, every name (present, unique) and every tensor's struct_size.
  // Throws StatusError naming `layer`. Pointers stay borrowed from the bundle.
  BundleTensors(const incq_weight_bundle* bundle, const std::string& layer);

  // The tensor called `name`, or nullptr if the bundle has none. Marks it as used.
  const incq_tensor* find(const std::string& name);

  // Throws INVALID_ARGUMENT naming the first tensor that no find() asked for: an unexpected name
  // means host and plugin disagree about the layer, which must not pass silently.
  void reject_unused() const;

  int32_t packing() const { return packing_; }

 private:
  struct Entry {
    const incq_tensor* tensor;
    bool used;
  };
  std::string layer_;
  int32_t packing_;
  std::map<std::string, Entry> tensors_;
};

}  // namespace incq::inc_cpu

#endif
