// Finding the Python that has ARK: asks a candidate interpreter (in a child process, so nothing of
// it runs inside the host yet) for its version, its libpython and where auto_round_kernel lives.
#ifndef INCQ_ARK_ARK_LOCATOR_HPP
#define INCQ_ARK_ARK_LOCATOR_HPP

#include <string>
#include <vector>

namespace incq::ark {

struct PythonInfo {
  std::string executable;              // what was run
  std::string version;                 // "3.11.7"
  std::string home;                    // sys.base_prefix (the standard library's prefix)
  std::string ext_suffix;              // ".cpython-311-x86_64-linux-gnu.so"
  std::vector<std::string> libpython;  // candidate paths / sonames of the shared libpython
  bool shared = false;                 // Py_ENABLE_SHARED
  std::string ark_dir;                 // the auto_round_kernel package folder, "" if not found
  std::string ark_version;             // auto-round-lib's distribution version, "" if unknown
};

// Runs `python` and fills info. Returns "" or the reason it could not be asked.
std::string ask_python(const std::string& python, PythonInfo& info);

// Where to look when nothing is configured: the first python3 and python on PATH.
std::vector<std::string> default_python_candidates();

}  // namespace incq::ark

#endif
