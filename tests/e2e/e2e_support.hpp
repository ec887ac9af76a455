// Helpers every end-to-end test shares: a scratch directory that cleans up after itself, a host
// that sees only the plugins this build tree made, and small file utilities.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/host.hpp"

namespace incq::e2e {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A host whose only plugin directory is INCQ_TEST_PLUGIN_DIR: no install location, no
// environment, no host config, so an installed or stray plugin cannot change what is tested.
std::unique_ptr<host::Host> make_build_tree_host(int threads = 2);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
nlohmann::ordered_json read_json(const std::string& path);
void write_json(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace incq::e2e
