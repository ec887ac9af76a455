// ARK's results are ISA dependent (its kernels dispatch on AVX2 / AVX-512 / AMX at run time), so
// whether a configuration computes correctly is checked on the machine itself: each (bits, asym,
// compute type, scale type) ARK would be used with runs a few seeded problems against an exact
// double-precision reference once per process, and only configurations that pass are used.
#ifndef INCQ_ARK_ARK_SELF_TEST_HPP
#define INCQ_ARK_ARK_SELF_TEST_HPP

#include <cstdint>
#include <string>

namespace incq::ark {

struct ArkConfigResult {
  bool ok = false;
  int32_t scale_type = 0;  // the scale type that passed (fp16 preferred, else fp32)
  std::string detail;      // why not, when !ok
};

// Cached per (bits, asym, compute_type); thread-safe. Requires ARK's CPU backend to be usable.
const ArkConfigResult& ark_config_check(int32_t bits, bool asym, int32_t compute_type);

// The error bound a compute type is held to: fp32 compute must agree to fp32 rounding (1e-5 of
// sum|x*w|), the others to the implementation's declared tolerance.
double ark_config_tolerance(int32_t compute_type);

}  // namespace incq::ark

#endif
