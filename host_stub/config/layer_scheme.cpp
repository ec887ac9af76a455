// LayerScheme's comparison and its one-line description.
#include <fmt/format.h>

#include "common/abi_names.hpp"
#include "config/quant_config.hpp"

namespace incq::host {
namespace {

std::string granularity(const incq_scheme& s) {
  if (s.packing == INCQ_PACKING_FP8_BLOCK) return fmt::format("block {}x{}", s.block_n, s.block_k);
  if (s.group_size == -1) return "g-1";
  if (s.group_size == 0) return "per-tensor";
  return fmt::format("g{}", s.group_size);
}

}  // namespace

bool LayerScheme::operator==(const LayerScheme& o) const {
  if (quantized != o.quantized) return false;
  if (!quantized) return true;
  const incq_scheme &a = scheme, &b = o.scheme;
  return a.family == b.family && a.bits == b.bits && a.group_size == b.group_size &&
         a.sym == b.sym && a.packing == b.packing && a.act_bits == b.act_bits &&
         a.act_dynamic == b.act_dynamic && a.has_g_idx == b.has_g_idx &&
         a.weight_dtype == b.weight_dtype && a.block_n == b.block_n && a.block_k == b.block_k &&
         a.act_family == b.act_family && a.act_group_size == b.act_group_size && a.act_sym == b.act_sym;
}

std::string LayerScheme::describe() const {
  if (!quantized) return "dense";
  const incq_scheme& s = scheme;
  std::string out;
  if (s.family == INCQ_FAMILY_FP8)
    out = s.weight_dtype == INCQ_DTYPE_F8_E5M2 ? "fp8_e5m2" : "fp8_e4m3";
  else
    out = fmt::format("{}{}", family_name(s.family), s.bits);
  out += " " + granularity(s);
  if (s.family == INCQ_FAMILY_INT || s.family == INCQ_FAMILY_MX_INT) out += s.sym ? " sym" : " asym";
  if (s.act_bits < 16)
    out += fmt::format(" a{} {} {} {}", s.act_bits, family_name(s.act_family),
                       s.act_group_size == -1 ? std::string("per-token") : fmt::format("g{}", s.act_group_size),
                       s.act_dynamic ? "dynamic" : "static");
  out += fmt::format(" {} ({})", packing_name(s.packing), packing_format);
  return out;
}

}  // namespace incq::host
