#include "gemm/amx_permission.hpp"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace incq::inc_cpu::gemm {
namespace {

constexpr int kArchReqXcompPerm = 0x1023;  // linux/arch/x86/include/uapi/asm/prctl.h
constexpr int kXfeatureXtiledata = 18;

bool cpu_has_amx() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool tile = (edx >> 24) & 1, bf16 = (edx >> 22) & 1, int8 = (edx >> 25) & 1;
  return tile && bf16 && int8 && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni");
}

bool request() {
  if (!cpu_has_amx()) return false;
#ifdef SYS_arch_prctl
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

}  // namespace

bool amx_request_permission() {
  static const bool granted = request();
  return granted;
}

}  // namespace incq::inc_cpu::gemm
