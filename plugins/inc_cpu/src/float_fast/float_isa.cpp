#include "float_gemm.hpp"

namespace incq::inc_cpu {

bool float_fast_cpu_supported() {
  // GCC's cpu model checks the OS-enabled state (XCR0) for AVX-512 as well as CPUID.
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return ok;
}

}  // namespace incq::inc_cpu
