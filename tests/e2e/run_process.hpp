// Runs a program the way a user's shell would, with the INCQ_* environment under the test's
// control, and captures what it printed and how it exited.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace incq::e2e {

struct ProcessResult {
  int exit_code = -1;   // the program's exit status; 128 + N when signal N killed it
  std::string out;      // stdout
  std::string err;      // stderr
};

// argv[0] is the program path. The child's environment is this process's without any variable
// starting with INCQ_, plus `env` (so a developer's own INCQ_BACKEND cannot change a test).
ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

}  // namespace incq::e2e
