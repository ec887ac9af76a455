#include "ark_locator.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

extern char** environ;

namespace incq::ark {
namespace {

// Printed as key=value lines. find_spec on the top-level package does not execute its
// __init__.py (which imports torch); the extension modules are found later by file name.
const char kProbeScript[] = R"PY(
import sys, os, sysconfig, importlib.util
v = sys.version_info
print("version=%d.%d.%d" % (v[0], v[1], v[2]))
print("home=" + sys.base_prefix)
print("ext_suffix=" + (sysconfig.get_config_var("EXT_SUFFIX") or ""))
print("shared=%s" % (sysconfig.get_config_var("Py_ENABLE_SHARED") or 0))
so = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
if so:
    for d in (sysconfig.get_config_var("LIBDIR"), os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("MULTIARCH") or ""), sysconfig.get_config_var("LIBPL"), "/usr/lib/" + (sysconfig.get_config_var("MULTIARCH") or "")):
        if d and os.path.isfile(os.path.join(d, so)):
            print("libpython=" + os.path.join(d, so))
    print("libpython=" + so)
try:
    spec = importlib.util.find_spec("auto_round_kernel")
    locs = list(spec.submodule_search_locations or []) if spec else []
    print("ark_dir=" + (locs[0] if locs else ""))
except Exception as e:
    print("ark_dir=")
    print("ark_error=" + str(e).replace("\n", " "))
try:
    from importlib.metadata import version
    print("ark_version=" + version("auto-round-lib"))
except Exception:
    print("ark_version=")
)PY";

// Runs argv, returns stdout (stderr discarded) and the exit status.
std::string run_capture(const std::vector<std::string>& argv, int& status, std::string& why) {
  int out[2];
  if (pipe(out) != 0) { why = "pipe failed"; return ""; }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  if (rc != 0) {
    close(out[0]);
    why = std::string("cannot run it: ") + std::strerror(rc);
    return "";
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
  status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128;
  return text;
}

bool is_dir(const std::string& p) {
  struct stat st{};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string ask_python(const std::string& python, PythonInfo& info) {
  info = PythonInfo{};
  // A venv or prefix folder means its interpreter.
  info.executable = is_dir(python) ? python + "/bin/python3" : python;
  int status = -1;
  std::string why;
  // -I: ignore PYTHON* variables and the user site (the probe must see what the path says).
  const std::string text = run_capture({info.executable, "-I", "-c", kProbeScript}, status, why);
  if (!why.empty()) return "Python not found: '" + info.executable + "': " + why;
  if (status != 0) {
    return "Python '" + info.executable + "' failed to answer the probe (exit status " +
           std::to_string(status) + ")";
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "version") info.version = value;
    else if (key == "home") info.home = value;
    else if (key == "ext_suffix") info.ext_suffix = value;
    else if (key == "shared") info.shared = value == "1";
    else if (key == "libpython") info.libpython.push_back(value);
    else if (key == "ark_dir") info.ark_dir = value;
    else if (key == "ark_version") info.ark_version = value;
  }
  if (info.version.empty()) return "Python '" + info.executable + "' gave no version in its probe answer";
  return "";
}

std::vector<std::string> default_python_candidates() {
  std::vector<std::string> found;
  const char* path = std::getenv("PATH");
  if (path == nullptr) return found;
  std::vector<std::string> dirs;
  std::istringstream list(path);
  std::string dir;
  while (std::getline(list, dir, ':')) if (!dir.empty()) dirs.push_back(dir);
  // The interpreters a user means by "my Python", as `python3` / `python` would run them: each is
  // probed in a child process, so the list stays short.
  for (const char* name : {"python3", "python"}) {
    for (const std::string& d : dirs) {
      const std::string p = d + "/" + name;
      if (access(p.c_str(), X_OK) == 0) {
        found.push_back(p);
        break;
      }
    }
  }
  return found;
}

}  // namespace incq::ark
