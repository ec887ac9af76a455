// Which block-scaled format a layer's weights are in (MXFP4, MXFP8, NVFP4, MXINT4), from its scheme.
#ifndef INCQ_INC_CPU_MX_FORMAT_HPP
#define INCQ_INC_CPU_MX_FORMAT_HPP

#include <cstdint>
#include <string>

namespace incq::inc_cpu {

enum class MxKind { MxFp4, MxFp8, NvFp4, MxInt4 };

struct MxFormat {
  MxKind kind = MxKind::MxFp4;
  int64_t group = 32;  // elements of one row sharing a scale: 32 for MX, 16 for NV

  bool packed_nibbles() const { return kind != MxKind::MxFp8; }  // weight_packed [N, K/2]
  bool e4m3_scales() const { return kind == MxKind::NvFp4; }     // else E8M0 bytes
  std::string name() const;                                      // "MXFP4", ...
  std::string layout() const;  // the tensors and their shapes, for messages
};

// The format of (family, bits), or "" filled into *why when there is none.
bool mx_format_of(int32_t family, int32_t bits, MxFormat* out, std::string* why);

}  // namespace incq::inc_cpu

#endif
