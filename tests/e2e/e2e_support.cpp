#include "e2e_support.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace incq::e2e {

TempDir::TempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/incq-e2e-" + tag + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<host::Host> make_build_tree_host(int threads) {
  host::HostSettings s;
  s.plugin_dirs = {INCQ_TEST_PLUGIN_DIR};
  s.threads = threads;
  // These suites judge inc_cpu's implementations by name; ark outranks them where ARK is installed
  // and has its own differential suite (tests/ark).
  s.policy.disabled = {host::BackendChoice{"ark", "the e2e suites (tests/ark tests ark)"}};
  return std::make_unique<host::Host>(std::move(s));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

nlohmann::ordered_json read_json(const std::string& path) { return nlohmann::ordered_json::parse(read_text(path)); }

void write_json(const std::string& path, const nlohmann::ordered_json& j) { write_text(path, j.dump(2) + "\n"); }

}  // namespace incq::e2e
