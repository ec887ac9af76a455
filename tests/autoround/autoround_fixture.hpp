// One fixture of tests/fixtures/autoround/ (written by tools/make_autoround_fixtures.py): the
// checkpoint AutoRound exported, what AutoRound resolved per layer, and AutoRound's own outputs.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "safetensors/safetensors.hpp"

namespace incq::autoround_test {

struct Fixture {
  std::string name;            // the case name, e.g. "autoround_sym_w4_g128"
  std::string checkpoint_dir;  // <fixture>/checkpoint
  nlohmann::json description;  // reference.json
  std::unique_ptr<host::st::SafetensorsFile> reference;  // reference.safetensors

  static Fixture open(const std::string& name);

  // The packing/format name as AutoRound wrote it: packing_format, else "quant_method=<m>".
  std::string format() const;
  // True when every quantized layer is integer weight-only (what incq implements today).
  bool integer_weight_only() const;
  // A reference tensor converted to double (F16 / F32 / I32), row-major; empty when absent.
  std::vector<double> values(const std::string& tensor_name) const;
  bool has(const std::string& tensor_name) const;
};

// Every case directory under tests/fixtures/autoround, sorted; empty when the folder is missing.
std::vector<std::string> fixture_names();
std::string fixtures_root();

}  // namespace incq::autoround_test
