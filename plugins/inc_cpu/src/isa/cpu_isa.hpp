// Run-time x86 ISA detection for inc_cpu's kernel dispatch: what the CPU reports (CPUID), what the
// OS enables (XCR0 via XGETBV), and, for AMX, whether Linux granted this process the XTILEDATA
// state (arch_prctl ARCH_REQ_XCOMP_PERM). A cap (plugin option `isa`) lowers what dispatch may use
// so that every kernel tier can be tested on one machine.
//
// Why not libcpuinfo: Debian 12 ships a 2022-06 snapshot (0.0~git20220617) that neither asks the
// kernel for AMX tile permission nor (as far as its API of that date goes) reports AVX-VNNI/AMX
// reliably; the dozen CPUID bits below are simpler to own than to work around.
#ifndef INCQ_INC_CPU_ISA_CPU_ISA_HPP
#define INCQ_INC_CPU_ISA_CPU_ISA_HPP

#include <string>

namespace incq::inc_cpu::isa {

// Feature flags, each true only when the CPU has it AND the OS enabled its register state.
struct CpuFeatures {
  bool avx2 = false;      // with FMA and F16C (every AVX2 kernel here uses all three)
  bool avx512 = false;    // AVX-512 F + BW + VL + DQ
  bool avx512vnni = false;
  bool avxvnni = false;   // VEX-encoded VNNI (Alder Lake and later)
  bool avx512bf16 = false;
  bool amx_int8 = false;  // AMX-TILE + AMX-INT8, tile data permitted by the OS
  bool amx_bf16 = false;  // AMX-TILE + AMX-BF16, tile data permitted by the OS
  std::string amx_note;   // why AMX is off when the CPU has it (e.g. arch_prctl refused)

  std::string describe() const;  // e.g. "avx2 avx512 avx512vnni avx512bf16 (amx: not present)"
};

// Ordered tiers a cap names: each allows its own features and those of the tiers below it.
enum class IsaTier { kBaseline = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAvx512Bf16 = 4, kAmx = 5 };

// What this machine offers, detected once (thread-safe) and cached for the process.
const CpuFeatures& detected_features();

// `detected` with everything above `cap` removed.
CpuFeatures capped(const CpuFeatures& detected, IsaTier cap);

// "baseline" | "avx2" | "avx512" | "avx512vnni" | "avx512bf16" | "amx"; throws StatusError
// (INVALID_ARGUMENT) naming the option and the accepted values otherwise.
IsaTier parse_isa_tier(const std::string& value);
const char* isa_tier_name(IsaTier tier);

// The process-wide cap set from the plugin option `isa` at initialize (serial by the ABI);
// kAmx (no cap) by default.
void set_isa_cap(IsaTier cap);
IsaTier isa_cap();

// detected_features() under the current cap: what kernels may use now.
CpuFeatures active_features();

}  // namespace incq::inc_cpu::isa

#endif
