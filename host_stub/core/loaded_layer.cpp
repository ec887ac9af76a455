#include "core/loaded_layer.hpp"

#include <fmt/format.h>

#include <cstring>

#include "common/error.hpp"

namespace incq::host {

namespace {

std::string message_of(const incq_error& e) { return std::string(e.message, strnlen(e.message, sizeof e.message)); }

incq_error fresh_error() {
  incq_error e{};
  e.struct_size = sizeof e;
  return e;
}

}  // namespace

incq_tensor cpu_tensor(void* data, int32_t dtype, std::vector<int64_t> shape) {
  incq_tensor t{};
  t.struct_size = sizeof t;
  t.data = data;
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[static_cast<size_t>(i)];
    t.strides[i] = stride;
    stride *= t.shape[i];
  }
  t.device_type = INCQ_DEVICE_CPU;
  return t;
}

std::unique_ptr<LoadedLayer> LoadedLayer::load(const Implementation& impl, const incq_layer_desc& desc,
                                               const incq_device& device, const std::vector<BundleTensor>& tensors,
                                               int32_t packing, const OptionMap& layer_options) {
  std::unique_ptr<LoadedLayer> layer(new LoadedLayer());
  layer->plugin_ = impl.plugin;
  layer->desc_ = impl.desc;
  layer->name_ = desc.name ? desc.name : "?";
  layer->impl_name_ = impl.name;
  const std::string where = fmt::format("layer '{}' ({})", layer->name_, impl.name);

  std::vector<incq_kv> kvs;
  for (const auto& [k, v] : layer_options) kvs.push_back({k.c_str(), v.c_str()});
  incq_error err = fresh_error();
  incq_status st = impl.desc->create(impl.desc->impl_ctx, &desc, &device, kvs.data(), kvs.size(), &layer->handle_, &err);
  if (st != INCQ_OK || layer->handle_ == nullptr) {
    layer->handle_ = nullptr;
    throw Error(fmt::format("{}: create failed: {}", where, message_of(err)));
  }
  std::vector<incq_named_tensor> named;
  named.reserve(tensors.size());
  for (const auto& t : tensors) named.push_back({t.name.c_str(), t.tensor});
  incq_weight_bundle bundle{};
  bundle.struct_size = sizeof bundle;
  bundle.packing = packing;
  bundle.num_tensors = named.size();
  bundle.tensors = named.data();
  err = fresh_error();
  st = impl.desc->set_weights(layer->handle_, &bundle, &err);
  if (st != INCQ_OK) throw Error(fmt::format("{}: set_weights failed: {}", where, message_of(err)));
  err = fresh_error();
  st = impl.desc->process_weights(layer->handle_, &err);
  if (st != INCQ_OK) throw Error(fmt::format("{}: process_weights failed: {}", where, message_of(err)));
  return layer;
}

LoadedLayer::~LoadedLayer() {
  if (handle_ != nullptr) desc_->destroy(handle_);
}

void LoadedLayer::apply_linear(const incq_tensor& x, incq_tensor& y, const incq_exec& exec) const {
  incq_error err = fresh_error();
  if (desc_->apply_linear == nullptr) throw Error(fmt::format("layer '{}' ({}): not a Linear implementation", name_, impl_name_));
  if (desc_->apply_linear(handle_, &x, &y, &exec, &err) != INCQ_OK)
    throw Error(fmt::format("layer '{}' ({}): apply failed: {}", name_, impl_name_, message_of(err)));
}

void LoadedLayer::apply_moe(const incq_tensor& hidden, const incq_tensor& topk_ids, const incq_tensor& topk_weights,
                            incq_tensor& out, const incq_exec& exec) const {
  incq_error err = fresh_error();
  if (desc_->apply_moe == nullptr) throw Error(fmt::format("layer '{}' ({}): not a MoE implementation", name_, impl_name_));
  if (desc_->apply_moe(handle_, &hidden, &topk_ids, &topk_weights, &out, &exec, &err) != INCQ_OK)
    throw Error(fmt::format("layer '{}' ({}): apply failed: {}", name_, impl_name_, message_of(err)));
}

int64_t LoadedLayer::resident_bytes() const {
  if (!INCQ_HAS_FIELD(desc_, incq_impl_desc, resident_bytes) || desc_->resident_bytes == nullptr) return -1;
  uint64_t bytes = 0;
  incq_error err = fresh_error();
  if (desc_->resident_bytes(handle_, &bytes, &err) != INCQ_OK) return -1;
  return static_cast<int64_t>(bytes);
}

}  // namespace incq::host
