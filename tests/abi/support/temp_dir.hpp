// A fresh directory for one test, removed with everything in it when the object goes.
#pragma once

#include <string>

namespace incq::abi_test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes text to <path>/<name> and returns the full file name.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

}  // namespace incq::abi_test
