#include "isa/cpu_isa.hpp"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "incq/plugin_helpers.hpp"

namespace incq::inc_cpu::isa {
namespace {

struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf) {
  Regs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.a, &r.b, &r.c, &r.d)) r = Regs{};
  return r;
}

bool bit(unsigned v, int i) { return ((v >> i) & 1u) != 0; }

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  // XGETBV with ECX = 0; only valid when CPUID.1:ECX.OSXSAVE is set (checked by the caller).
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Linux >= 5.16 keeps AMX tile data off until a process asks (Documentation/arch/x86/xstate.rst):
// ARCH_REQ_XCOMP_PERM with XFEATURE_XTILEDATA (18). Granted once per process; asking again is a
// no-op success.
bool request_amx_permission(std::string& note) {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0) return true;
  note = "arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) refused by the kernel";
  return false;
#else
  note = "AMX tile permission request is implemented for Linux only";
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  const Regs l0 = cpuid(0, 0);
  const Regs l1 = cpuid(1, 0);
  if (!bit(l1.c, 27)) return f;  // no OSXSAVE: the OS manages no AVX state at all
  const uint64_t xcr0 = read_xcr0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM + YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  const bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG + XTILEDATA
  if (l0.a < 7) return f;
  const Regs l7 = cpuid(7, 0);
  const Regs l7s1 = l7.a >= 1 ? cpuid(7, 1) : Regs{};
  const bool fma = bit(l1.c, 12), avx = bit(l1.c, 28), f16c = bit(l1.c, 29);
  f.avx2 = os_avx && avx && fma && f16c && bit(l7.b, 5);
  f.avx512 = f.avx2 && os_avx512 && bit(l7.b, 16) && bit(l7.b, 17) && bit(l7.b, 30) && bit(l7.b, 31);
  f.avx512vnni = f.avx512 && bit(l7.c, 11);
  f.avxvnni = f.avx2 && bit(l7s1.a, 4);
  f.avx512bf16 = f.avx512 && bit(l7s1.a, 5);
  const bool tile = bit(l7.d, 24), amx_bf16 = bit(l7.d, 22), amx_int8 = bit(l7.d, 25);
  if (!tile) {
    f.amx_note = "not present";
  } else if (!os_amx) {
    f.amx_note = "tile state not enabled by the OS (XCR0)";
  } else if (request_amx_permission(f.amx_note)) {
    // AMX kernels here also use AVX-512 for their epilogues.
    f.amx_int8 = amx_int8 && f.avx512;
    f.amx_bf16 = amx_bf16 && f.avx512;
  }
  return f;
}

std::atomic<int> g_cap{static_cast<int>(IsaTier::kAmx)};

}  // namespace

std::string CpuFeatures::describe() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(avx512, "avx512");
  add(avx512vnni, "avx512vnni");
  add(avxvnni, "avxvnni");
  add(avx512bf16, "avx512bf16");
  add(amx_int8, "amx-int8");
  add(amx_bf16, "amx-bf16");
  if (s.empty()) s = "baseline x86-64";
  if (!amx_note.empty()) s += " (amx: " + amx_note + ")";
  return s;
}

const CpuFeatures& detected_features() {
  static const CpuFeatures features = detect();  // C++11 magic static: thread-safe, once
  return features;
}

CpuFeatures capped(const CpuFeatures& d, IsaTier cap) {
  CpuFeatures f = d;
  const int c = static_cast<int>(cap);
  if (c < static_cast<int>(IsaTier::kAmx)) {
    if (f.amx_int8 || f.amx_bf16) f.amx_note = "capped by isa option";
    f.amx_int8 = f.amx_bf16 = false;
  }
  if (c < static_cast<int>(IsaTier::kAvx512Bf16)) f.avx512bf16 = false;
  if (c < static_cast<int>(IsaTier::kAvx512Vnni)) f.avx512vnni = f.avxvnni = false;
  if (c < static_cast<int>(IsaTier::kAvx512)) f.avx512 = false;
  if (c < static_cast<int>(IsaTier::kAvx2)) f.avx2 = false;
  return f;
}

IsaTier parse_isa_tier(const std::string& v) {
  static const IsaTier kAll[] = {IsaTier::kBaseline, IsaTier::kAvx2, IsaTier::kAvx512,
                                 IsaTier::kAvx512Vnni, IsaTier::kAvx512Bf16, IsaTier::kAmx};
  for (IsaTier t : kAll) {
    if (v == isa_tier_name(t)) return t;
  }
  fail(INCQ_ERR_INVALID_ARGUMENT, "inc_cpu: option 'isa' = '" + v +
                                      "' is not one of baseline, avx2, avx512, avx512vnni, avx512bf16, amx");
}

const char* isa_tier_name(IsaTier t) {
  switch (t) {
    case IsaTier::kBaseline: return "baseline";
    case IsaTier::kAvx2: return "avx2";
    case IsaTier::kAvx512: return "avx512";
    case IsaTier::kAvx512Vnni: return "avx512vnni";
    case IsaTier::kAvx512Bf16: return "avx512bf16";
    case IsaTier::kAmx: return "amx";
  }
  return "?";
}

void set_isa_cap(IsaTier cap) { g_cap.store(static_cast<int>(cap)); }
IsaTier isa_cap() { return static_cast<IsaTier>(g_cap.load()); }

CpuFeatures active_features() { return capped(detected_features(), isa_cap()); }

}  // namespace incq::inc_cpu::isa
