// One layer built by a plugin: create -> set_weights -> process_weights, then apply until destroy.
// Holds its plugin (shared) so the plugin is unloaded only after the layer is gone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/plugin_loader.hpp"
#include "core/registry.hpp"
#include "incq/plugin_api.h"

namespace incq::host {

struct BundleTensor {
  std::string name;  // bundle name: "qweight" ... or "<e>.<proj>.<tensor>"
  incq_tensor tensor;
};

class LoadedLayer {
 public:
  // Runs create, set_weights and process_weights. Throws Error naming the layer, the
  // implementation and the plugin's message on failure (the handle is destroyed first).
  static std::unique_ptr<LoadedLayer> load(const Implementation& impl, const incq_layer_desc& desc,
                                           const incq_device& device, const std::vector<BundleTensor>& tensors,
                                           int32_t packing, const OptionMap& layer_options = {});
  ~LoadedLayer();
  LoadedLayer(const LoadedLayer&) = delete;
  LoadedLayer& operator=(const LoadedLayer&) = delete;

  void apply_linear(const incq_tensor& x, incq_tensor& y, const incq_exec& exec) const;
  void apply_moe(const incq_tensor& hidden, const incq_tensor& topk_ids, const incq_tensor& topk_weights,
                 incq_tensor& out, const incq_exec& exec) const;
  // Resident weight bytes as the plugin reports them; -1 when it does not say.
  int64_t resident_bytes() const;

  const std::string& name() const { return name_; }
  const std::string& impl_name() const { return impl_name_; }
  double tolerance() const { return desc_->tolerance; }

 private:
  LoadedLayer() = default;
  std::shared_ptr<Plugin> plugin_;
  const incq_impl_desc* desc_ = nullptr;
  incq_layer* handle_ = nullptr;
  std::string name_;
  std::string impl_name_;
};

// A CPU incq_tensor view of contiguous row-major memory.
incq_tensor cpu_tensor(void* data, int32_t dtype, std::vector<int64_t> shape);

}  // namespace incq::host
