// Linux gates AMX tile data behind a per-process permission (arch_prctl ARCH_REQ_XCOMP_PERM for
// XTILEDATA, kernel >= 5.16); without it the first tile instruction raises SIGILL.
#ifndef INCQ_INC_CPU_GEMM_AMX_PERMISSION_HPP
#define INCQ_INC_CPU_GEMM_AMX_PERMISSION_HPP

namespace incq::inc_cpu::gemm {

// True when the CPU reports AMX-TILE, AMX-BF16 and AMX-INT8 (CPUID.7.0:EDX bits 24, 22, 25), AVX-512
// BF16/VNNI for the epilogues, and the kernel granted XTILEDATA. Requests once; thread-safe.
bool amx_request_permission();

}  // namespace incq::inc_cpu::gemm

#endif
