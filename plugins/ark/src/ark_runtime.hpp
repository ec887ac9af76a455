// ARK's availability (like vLLM's get_ark_state(): probed once, cached; usable only when the
// runtime loads and a backend library is present) and the three CPU ops the plugin calls.
#ifndef INCQ_ARK_ARK_RUNTIME_HPP
#define INCQ_ARK_ARK_RUNTIME_HPP

#include <cstdint>
#include <string>

namespace incq::ark {

// Where to look, from the plugin options and the environment (resolved by the plugin entry).
struct ArkSettings {
  std::string python;         // interpreter or venv folder; "" = search PATH
  std::string python_source;  // "INCQ_ARK_PYTHON", "plugin option 'python'" or ""
  bool never = false;         // plugin option use=never
};

struct ArkState {
  bool cpu_available = false;
  std::string cpu_detail;  // the reason when not available, a description when available
  bool xpu_available = false;
  std::string xpu_detail;
};

// Remembers the settings for the first probe; later calls are ignored once probed.
void configure_ark(const ArkSettings& settings);

// Probes on the first call (thread-safe), then returns the cached answer.
const ArkState& ark_state();

// Arguments of ARK's packed-weight ops: the layer's shape and the type codes of ark_types.hpp.
struct ArkWeightFormat {
  int64_t n = 0, k = 0, group_size = 0;
  int32_t compute_type = 0, weight_type = 0, scale_type = 0;
  bool asym = false;
};

// The CPU ops. Each call is serialised process-wide: ARK's scratch pool is global and not
// thread-safe. Throws StatusError (UNAVAILABLE when ARK is not usable, INTERNAL with ARK's own
// message when an op raises).
uint64_t ark_packed_weight_size(const ArkWeightFormat& f);
// q: int8 [k, n] codes centred on 0; zp: int8 [k/g, n] (centred; ignored unless asym);
// scales: f32 [k/g, n]; blob: packed_weight_size bytes.
void ark_repack(const ArkWeightFormat& f, const void* q, const void* zp, const float* scales, void* blob);
// x: f32 [m, k]; y: f32 [m, n]; bias: f32 [n] or nullptr. threads: what the caller allows; ARK
// nevertheless runs on every CPU (it computes wrong results with fewer OpenMP threads).
void ark_woqgemm(const ArkWeightFormat& f, int64_t m, const float* x, const void* blob, uint64_t blob_bytes,
                 float* y, const float* bias, int32_t threads);

}  // namespace incq::ark

#endif
