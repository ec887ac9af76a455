// The emulated tiles need no XTILEDATA permission.
#include "gemm/amx_permission.hpp"

namespace incq::inc_cpu::gemm {
bool amx_request_permission() { return true; }
}  // namespace incq::inc_cpu::gemm
