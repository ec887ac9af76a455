#include "autoround_fixture.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "incq/plugin_helpers.hpp"

namespace incq::autoround_test {

namespace fs = std::filesystem;

std::string fixtures_root() { return std::string(INCQ_TEST_SOURCE_DIR) + "/tests/fixtures/autoround"; }

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  if (!fs::is_directory(fixtures_root())) return names;
  for (const auto& entry : fs::directory_iterator(fixtures_root()))
    if (entry.is_directory() && fs::exists(entry.path() / "reference.json")) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

Fixture Fixture::open(const std::string& name) {
  Fixture f;
  f.name = name;
  const std::string dir = fixtures_root() + "/" + name;
  f.checkpoint_dir = dir + "/checkpoint";
  std::ifstream in(dir + "/reference.json");
  if (!in) throw std::runtime_error(dir + "/reference.json: cannot open");
  f.description = nlohmann::json::parse(in);
  f.reference = host::st::SafetensorsFile::open(dir + "/reference.safetensors");
  return f;
}

std::string Fixture::format() const {
  const auto& qc = description.at("quantization_config");
  if (qc.contains("packing_format")) return qc["packing_format"].get<std::string>();
  return "quant_method=" + qc.at("quant_method").get<std::string>();
}

bool Fixture::integer_weight_only() const {
  for (const auto& [name, layer] : description.at("layers").items()) {
    const auto& s = layer.at("autoround_scheme");
    if (s.value("data_type", "int") != "int" || s.value("act_bits", 16) < 16) return false;
  }
  return true;
}

bool Fixture::has(const std::string& tensor_name) const { return reference->find(tensor_name) != nullptr; }

std::vector<double> Fixture::values(const std::string& tensor_name) const {
  const host::st::TensorView* t = reference->find(tensor_name);
  if (!t) return {};
  const size_t n = t->nbytes / incq::dtype_size(t->dtype);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (t->dtype == INCQ_DTYPE_F32) {
      float v;
      std::memcpy(&v, t->data + 4 * i, 4);
      out[i] = v;
    } else if (t->dtype == INCQ_DTYPE_F16) {
      uint16_t h;
      std::memcpy(&h, t->data + 2 * i, 2);
      out[i] = incq::half_to_float(h);
    } else if (t->dtype == INCQ_DTYPE_I32) {
      int32_t v;
      std::memcpy(&v, t->data + 4 * i, 4);
      out[i] = v;
    } else {
      throw std::runtime_error(tensor_name + ": unexpected dtype in reference.safetensors");
    }
  }
  return out;
}

}  // namespace incq::autoround_test
