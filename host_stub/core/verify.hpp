// `incq verify`: loads every quantized module through its chosen implementation, runs seeded
// inputs through it and compares with the host's double-precision oracle (host_stub/quant), which
// reads the checkpoint tensors with its own unpacking code, independent of every plugin.
//
// Pass criterion per output element:  |y - y_oracle| <= tol * mag + max(u * |y_oracle|, s / 2)
// where tol is the implementation's declared tolerance (incq_impl_desc.tolerance), mag the oracle's
// magnitude bound (sum |x*w| + |b| for a Linear; the propagated bound for a MoE), u the unit
// roundoff of the output dtype (2^-24 f32, 2^-11 f16, 2^-8 bf16) and s its smallest subnormal
// (2^-149, 2^-24, 2^-133): together, the one rounding of y itself.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/host.hpp"

namespace incq::host {

struct VerifyOptions {
  std::vector<int64_t> tokens{1, 3, 16};  // M for Linear, T for MoE
  int32_t act_dtype = INCQ_DTYPE_F32;
  uint64_t seed = 1;
  int top_k = 0;  // 0: the plan's (config.json num_experts_per_tok, else 2)
};

struct VerifyRun {
  int64_t tokens = 0;
  double max_abs_err = 0;
  double max_err_over_bound = 0;  // <= 1 passes
  double nmse = 0;
  double apply_ms = 0;
};

struct ModuleVerification {
  std::string name;
  std::string kind;
  std::string scheme;
  std::string implementation;
  double tolerance = 0;
  uint64_t packed_bytes = 0;
  int64_t resident_bytes = -1;
  double load_ms = 0;
  std::vector<VerifyRun> runs;
  bool passed = false;
  std::string error;
};

struct ModelVerification {
  std::string model_dir;
  std::vector<ModuleVerification> modules;
  bool passed() const;
};

ModelVerification verify_model(Host& host, const std::string& model_dir, const VerifyOptions& options);
nlohmann::ordered_json to_json(const ModelVerification& r);
std::string to_text(const ModelVerification& r);

}  // namespace incq::host
