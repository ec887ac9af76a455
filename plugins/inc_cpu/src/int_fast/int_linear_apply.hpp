// The fast integer Linear's apply: activations in any ABI dtype -> prepared rows -> kernels over
// column blocks in parallel -> y rounded once to its dtype. Shared by inc_cpu.fast.int_wo_linear,
// its int8 variant and inc_cpu.fast.w4a8_int_linear (glue/int_fast_*.cpp, glue/w4a8_fast_*.cpp).
#ifndef INCQ_INC_CPU_INT_FAST_INT_LINEAR_APPLY_HPP
#define INCQ_INC_CPU_INT_FAST_INT_LINEAR_APPLY_HPP

#include <cstddef>
#include <string>

#include "incq/plugin_api.h"
#include "int_fast/int_matmul.hpp"
#include "int_fast/int_prefill.hpp"

namespace incq::inc_cpu::int_fast {

// Rows of x handled per pass (bounds the scratch); every pass reads the weights once.
constexpr int64_t kApplyRowChunk = 32;

// A processed layer: the repacked weights and the kernels chosen for this machine.
struct IntFastWeights {
  IntPackedMatrix w;
  IntKernels kernels;
  // Set by implementations that take the GEMM path for M >= kPrefillMinRows (plan_int_prefill);
  // left empty (tiers kNone), apply always runs the decode kernels.
  IntPrefill prefill;
};

// Scratch one apply call needs (reserve_scratch it at process time).
// With `prefill`, also what its GEMM path needs in that mode.
size_t int_linear_scratch_bytes(const IntPackedMatrix& w, ComputeType ct, const IntPrefill* prefill = nullptr);

// x [M, K] and y [M, N] in act_dtype (rows may be strided). Throws StatusError naming `layer` on a
// bad argument — and, in int8 mode, on a non-finite x — before writing anything. No heap allocation.
void int_fast_linear_apply(const IntFastWeights& weights, ComputeType ct, const std::string& layer,
                           int32_t act_dtype, const incq_tensor* x, incq_tensor* y, const incq_exec* exec);

}  // namespace incq::inc_cpu::int_fast

#endif
