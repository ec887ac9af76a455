#include "mx_format.hpp"

#include "enum_names.hpp"
#include "incq/plugin_api.h"

namespace incq::inc_cpu {

std::string MxFormat::name() const {
  switch (kind) {
    case MxKind::MxFp4: return "MXFP4";
    case MxKind::MxFp8: return "MXFP8";
    case MxKind::NvFp4: return "NVFP4";
    default: return "MXINT4";
  }
}

std::string MxFormat::layout() const {
  switch (kind) {
    case MxKind::MxFp8: return "MXFP8: weight F8_E4M3 [N, K], weight_scale U8 E8M0 [N, K/32]";
    case MxKind::NvFp4:
      return "NVFP4: weight_packed U8 [N, K/2], weight_scale F8_E4M3 [N, K/16], weight_global_scale F32 [1]";
    default: return name() + ": weight_packed U8 [N, K/2], weight_scale U8 E8M0 [N, K/32]";
  }
}

bool mx_format_of(int32_t family, int32_t bits, MxFormat* out, std::string* why) {
  MxFormat f;
  if (family == INCQ_FAMILY_MX_FP && bits == 4) {
    f.kind = MxKind::MxFp4;
  } else if (family == INCQ_FAMILY_MX_FP && bits == 8) {
    f.kind = MxKind::MxFp8;
  } else if (family == INCQ_FAMILY_NV_FP && bits == 4) {
    f.kind = MxKind::NvFp4;
    f.group = 16;
  } else if (family == INCQ_FAMILY_MX_INT && bits == 4) {
    f.kind = MxKind::MxInt4;
  } else {
    *why = family_name(family) + " with bits = " + std::to_string(bits) +
           " not supported (MX_FP 4 or 8, NV_FP 4, MX_INT 4)";
    return false;
  }
  *out = f;
  return true;
}

}  // namespace incq::inc_cpu
