// Repacking a validated checkpoint matrix (any packing, bits, sym, g_idx) into the one internal
// layout of int_packed_matrix.hpp.
#ifndef INCQ_INC_CPU_INT_FAST_INT_REPACK_HPP
#define INCQ_INC_CPU_INT_FAST_INT_REPACK_HPP

#include "int_fast/int_packed_matrix.hpp"
#include "int_wo_matrix.hpp"

namespace incq::inc_cpu::int_fast {

// `src` has passed load_int_wo_matrix's checks (shapes, finite scales, g_idx range, sym zeros).
IntPackedMatrix repack_int_matrix(const IntWoMatrix& src);

}  // namespace incq::inc_cpu::int_fast

#endif
