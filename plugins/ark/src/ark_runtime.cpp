#include "ark_runtime.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <algorithm>
#include <mutex>
#include <thread>
#include <regex>
#include <sstream>
#include <vector>

#include "ark_locator.hpp"
#include "ark_types.hpp"
#include "incq/plugin_helpers.hpp"
#include "python_api.hpp"

namespace incq::ark {
namespace {

// The oldest auto-round-lib whose op signatures this bridge was written against and tested with.
constexpr int kMinMajor = 0, kMinMinor = 16;

// Loads an extension module by file path under its own top-level name (its PyInit symbol), which
// runs nothing of auto_round_kernel/__init__.py (that file imports torch; the native CPU ops do not
// need it).
const char kLoaderScript[] = R"PY(
import importlib.util as _u
def _incq_load(path, name):
    spec = _u.spec_from_file_location(name, path)
    mod = _u.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
)PY";
constexpr int kPyFileInput = 257;  // Py_file_input

struct Runtime {
  std::mutex probe_mutex;
  bool probed = false;
  ArkSettings settings;
  ArkState state;
  PythonApi py;
  void* op_size = nullptr;    // PyObject* of auto_round_kernel_cpu.packed_weight_size
  void* op_repack = nullptr;  // ... repack_quantized_weight
  void* op_gemm = nullptr;    // ... woqgemm
  void (*omp_set_num_threads)(int) = nullptr;
  std::mutex call_mutex;  // ARK's global scratch pool is not thread-safe: one op at a time
};

Runtime& runtime() {
  static Runtime* r = new Runtime;  // never destroyed: the interpreter outlives static destructors
  return *r;
}

bool file_exists(const std::string& p) {
  struct stat st{};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "0.16.0" -> true when >= the minimum; empty or unparsable -> false.
bool version_supported(const std::string& v) {
  int major = -1, minor = -1;
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > kMinMajor || (major == kMinMajor && minor >= kMinMinor);
}

std::string version_from_file(const std::string& ark_dir) {
  std::ifstream in(ark_dir + "/version.py");
  std::stringstream text;
  text << in.rdbuf();
  std::smatch m;
  const std::string s = text.str();
  if (std::regex_search(s, m, std::regex(R"(__version__\s*=\s*["']([^"']+)["'])"))) return m[1];
  return "";
}

// Finds the Python with ARK: the configured one, else the first on PATH that has the module.
std::string find_python(const ArkSettings& s, PythonInfo& info) {
  if (!s.python.empty()) {
    const std::string why = ask_python(s.python, info);
    if (!why.empty()) return why + " (set by " + s.python_source + ")";
    if (info.ark_dir.empty()) {
      return "module auto_round_kernel not found by Python " + info.version + " at '" + info.executable +
             "' (set by " + s.python_source + "); install it with: pip install auto-round-lib";
    }
    return "";
  }
  const std::vector<std::string> candidates = default_python_candidates();
  if (candidates.empty()) {
    return "Python not found: no python3 / python on PATH (set INCQ_ARK_PYTHON or the plugin option "
           "'python' to an interpreter that has auto-round-lib)";
  }
  std::string tried;
  for (const std::string& c : candidates) {
    PythonInfo candidate;
    const std::string why = ask_python(c, candidate);
    if (why.empty() && !candidate.ark_dir.empty()) {
      info = candidate;
      return "";
    }
    tried += (tried.empty() ? "" : ", ") + c + (why.empty() ? " (Python " + candidate.version + ", no auto_round_kernel)" : " (" + why + ")");
  }
  return "module auto_round_kernel not found by any Python on PATH (tried " + tried +
         "); install auto-round-lib or set INCQ_ARK_PYTHON";
}

void* get_op(Runtime& r, void* module, const char* name, std::string& why) {
  void* op = r.py.PyObject_GetAttrString(module, name);
  if (op == nullptr && why.empty()) {
    why = std::string("unsupported version: the CPU backend has no op '") + name + "' (" + take_python_error(r.py) + ")";
  }
  return op;
}

// Loads the CPU extension into the embedded interpreter and looks up the ops. "" or the reason.
std::string load_cpu_backend(Runtime& r, const PythonInfo& info, const std::string& cpu_so) {
  std::string why;
  for (const std::string& lib : info.libpython) {
    why = load_python_api(lib, r.py);
    if (why.empty()) break;
  }
  if (info.libpython.empty()) why = "it reports no libpython";
  if (!why.empty()) {
    return "Python " + info.version + " at '" + info.executable + "' cannot be embedded: " + why +
           (info.shared ? "" : " (this Python was built without --enable-shared)");
  }
  why = start_interpreter(r.py, info.home);
  if (!why.empty()) return why;
  GilLock gil(r.py);
  void* main_dict = r.py.PyModule_GetDict(r.py.PyImport_AddModule("__main__"));
  void* ran = r.py.PyRun_String(kLoaderScript, kPyFileInput, main_dict, main_dict);
  if (ran == nullptr) return "the embedded interpreter could not run the loader: " + take_python_error(r.py);
  r.py.Py_DecRef(ran);
  void* load = r.py.PyDict_GetItemString(main_dict, "_incq_load");  // borrowed
  void* args = r.py.PyTuple_New(2);
  r.py.PyTuple_SetItem(args, 0, r.py.PyUnicode_FromString(cpu_so.c_str()));
  r.py.PyTuple_SetItem(args, 1, r.py.PyUnicode_FromString("auto_round_kernel_cpu"));
  void* module = r.py.PyObject_CallObject(load, args);
  r.py.Py_DecRef(args);
  if (module == nullptr) {
    return "no backend library available: the CPU backend '" + cpu_so + "' failed to load: " + take_python_error(r.py);
  }
  why.clear();
  r.op_size = get_op(r, module, "packed_weight_size", why);
  r.op_repack = get_op(r, module, "repack_quantized_weight", why);
  r.op_gemm = get_op(r, module, "woqgemm", why);
  // The module stays referenced for the life of the process, like any imported module.
  if (!why.empty()) return why;
  // ARK parallelises with OpenMP (libgomp, loaded with the extension): its thread count is the
  // calling thread's OpenMP setting, which apply bounds by incq_exec.max_threads.
  if (void* gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD)) {
    r.omp_set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(gomp, "omp_set_num_threads"));
  }
  return "";
}

void probe(Runtime& r) {
  ArkState& st = r.state;
  if (r.settings.never) {
    st.cpu_detail = st.xpu_detail = "disabled by the plugin option use=never";
    return;
  }
  PythonInfo info;
  std::string why = find_python(r.settings, info);
  if (!why.empty()) {
    st.cpu_detail = st.xpu_detail = why;
    return;
  }
  std::string version = info.ark_version.empty() ? version_from_file(info.ark_dir) : info.ark_version;
  if (!version_supported(version)) {
    st.cpu_detail = st.xpu_detail = "unsupported version: auto-round-lib " + (version.empty() ? "(unknown)" : version) +
                                    " in '" + info.ark_dir + "'; this bridge needs >= " + std::to_string(kMinMajor) +
                                    "." + std::to_string(kMinMinor);
    return;
  }
  const std::string cpu_so = info.ark_dir + "/auto_round_kernel_cpu" + info.ext_suffix;
  const std::string xpu_so = info.ark_dir + "/auto_round_kernel_xpu" + info.ext_suffix;
  const bool has_cpu = file_exists(cpu_so), has_xpu = file_exists(xpu_so);
  if (!has_cpu && !has_xpu) {
    st.cpu_detail = st.xpu_detail = "no backend library available: neither auto_round_kernel_cpu" + info.ext_suffix +
                                    " nor auto_round_kernel_xpu" + info.ext_suffix + " in '" + info.ark_dir + "'";
    return;
  }
  const std::string where = "auto-round-lib " + version + " via Python " + info.version + " at '" + info.executable + "'";
  // XPU: ARK's XPU ops take a SYCL queue (Level Zero); incq devices hand plugins OpenCL queues,
  // which ARK cannot use, so the XPU backend is reported but never used.
  st.xpu_detail = has_xpu ? "ARK's XPU backend (" + xpu_so + ") needs a SYCL queue; incq's device type OPENCL passes "
                            "an OpenCL queue, which ARK cannot drive (" + where + ")"
                          : "no XPU backend library (auto_round_kernel_xpu" + info.ext_suffix + ") in '" + info.ark_dir + "'";
  if (!has_cpu) {
    st.cpu_detail = "no CPU backend library (auto_round_kernel_cpu" + info.ext_suffix + ") in '" + info.ark_dir + "'";
    return;
  }
  why = load_cpu_backend(r, info, cpu_so);
  if (!why.empty()) {
    st.cpu_detail = why;
    return;
  }
  st.cpu_available = true;
  st.cpu_detail = "ARK CPU backend " + cpu_so + " (" + where + ")";
}

// Calls op(args...) with the GIL held; returns the new reference (never null) or throws.
void* call_op(Runtime& r, void* op, const char* name, std::initializer_list<long long> ints, int bool_index) {
  void* args = r.py.PyTuple_New(static_cast<ptrdiff_t>(ints.size()));
  ptrdiff_t i = 0;
  for (long long v : ints) {
    void* item = i == bool_index ? r.py.PyBool_FromLong(v != 0) : r.py.PyLong_FromLongLong(v);
    r.py.PyTuple_SetItem(args, i++, item);
  }
  void* result = r.py.PyObject_CallObject(op, args);
  r.py.Py_DecRef(args);
  if (result == nullptr) fail(INCQ_ERR_INTERNAL, std::string("ARK ") + name + " failed: " + take_python_error(r.py));
  return result;
}

Runtime& ready_runtime() {
  Runtime& r = runtime();
  const ArkState& st = ark_state();
  if (!st.cpu_available) fail(INCQ_ERR_UNAVAILABLE, "ARK is not usable: " + st.cpu_detail);
  return r;
}

long long ptr(const void* p) { return static_cast<long long>(reinterpret_cast<uintptr_t>(p)); }

}  // namespace

void configure_ark(const ArkSettings& settings) {
  Runtime& r = runtime();
  std::lock_guard<std::mutex> lock(r.probe_mutex);
  if (!r.probed) r.settings = settings;
}

const ArkState& ark_state() {
  Runtime& r = runtime();
  std::lock_guard<std::mutex> lock(r.probe_mutex);
  if (!r.probed) {
    probe(r);
    r.probed = true;
  }
  return r.state;
}

uint64_t ark_packed_weight_size(const ArkWeightFormat& f) {
  Runtime& r = ready_runtime();
  std::lock_guard<std::mutex> lock(r.call_mutex);
  GilLock gil(r.py);
  // (stream, n, k, groupsize, compute, weight, scale, asym)
  void* res = call_op(r, r.op_size, "packed_weight_size",
                      {0, f.n, f.k, f.group_size, f.compute_type, f.weight_type, f.scale_type, f.asym}, 7);
  const unsigned long long bytes = r.py.PyLong_AsUnsignedLongLong(res);
  r.py.Py_DecRef(res);
  const std::string err = take_python_error(r.py);
  if (!err.empty()) fail(INCQ_ERR_INTERNAL, "ARK packed_weight_size returned no size: " + err);
  return bytes;
}

void ark_repack(const ArkWeightFormat& f, const void* q, const void* zp, const float* scales, void* blob) {
  Runtime& r = ready_runtime();
  std::lock_guard<std::mutex> lock(r.call_mutex);
  GilLock gil(r.py);
  // (stream, QB, zp, scales, blob, n, k, groupsize, compute, weight, scale, asym)
  void* res = call_op(r, r.op_repack, "repack_quantized_weight",
                      {0, ptr(q), ptr(zp), ptr(scales), ptr(blob), f.n, f.k, f.group_size, f.compute_type,
                       f.weight_type, f.scale_type, f.asym},
                      11);
  r.py.Py_DecRef(res);
}

void ark_woqgemm(const ArkWeightFormat& f, int64_t m, const float* x, const void* blob, uint64_t blob_bytes,
                 float* y, const float* bias, int32_t threads) {
  Runtime& r = ready_runtime();
  std::lock_guard<std::mutex> lock(r.call_mutex);
  // ARK splits the output over every CPU it detects and leaves part of it unwritten when OpenMP
  // gives it fewer threads (measured with 0.16.0: 1 thread on a 2-CPU machine, 2 on 16 CPUs), so
  // it always gets all of them, whatever the caller asked for (see README.md, "Threads").
  (void)threads;
  if (r.omp_set_num_threads != nullptr) r.omp_set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  GilLock gil(r.py);
  // (stream, m, n, k, A, A dtype, blob, C, bias, groupsize, compute, weight, scale, asym, blob bytes)
  void* res = call_op(r, r.op_gemm, "woqgemm",
                      {0, m, f.n, f.k, ptr(x), kArkF32, ptr(blob), ptr(y), ptr(bias), f.group_size,
                       f.compute_type, f.weight_type, f.scale_type, f.asym, static_cast<long long>(blob_bytes)},
                      13);
  r.py.Py_DecRef(res);
}

}  // namespace incq::ark
