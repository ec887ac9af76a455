// A GPTQ v1 / GPTQ v2 / AWQ integer matrix converted to ARK's input form and repacked by ARK's
// repack op into a blob the layer owns.
#ifndef INCQ_ARK_ARK_INT_WEIGHTS_HPP
#define INCQ_ARK_ARK_INT_WEIGHTS_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ark_runtime.hpp"
#include "int_wo_matrix.hpp"

namespace incq::ark {

struct AlignedFree {
  void operator()(void* p) const;
};

struct ArkIntWeights {
  ArkWeightFormat format;
  std::unique_ptr<uint8_t, AlignedFree> blob;  // ARK's packed weights (codes, scales, zeros)
  uint64_t blob_bytes = 0;
  std::vector<float> bias;  // [N] or empty
};

// ARK's input form (auto_round_kernel/qlinear.py): codes int8 [K, N] shifted by -2^(bits-1), zero
// points int8 [K/G, N] shifted the same way, scales f32 [K/G, N]. A symmetric layer whose stored
// zeros are not all 2^(bits-1) is repacked as asymmetric, so the result is always the checkpoint's.
// scale_type: what the self-test chose for (bits, sym/asym, compute_type) (ark_self_test.hpp); a
// layer repacked as asymmetric takes the asymmetric configuration's, and fails if that one failed.
ArkIntWeights repack_int_matrix(const inc_cpu::IntWoMatrix& m, int32_t compute_type, int32_t scale_type,
                                const std::string& layer);

// The bytes ARK packs a K x N matrix into, and the checkpoint bytes of the same matrix.
uint64_t ark_int_packed_bytes(int64_t K, int64_t N, int32_t bits, int64_t group, bool asym, int32_t compute_type,
                              int32_t scale_type);
uint64_t checkpoint_int_bytes(int64_t K, int64_t N, int32_t bits, int64_t group, bool has_bias);

}  // namespace incq::ark

#endif
