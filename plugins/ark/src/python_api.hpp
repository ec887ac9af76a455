// The handful of CPython C-API functions the bridge calls, resolved with dlsym from a libpython
// loaded at run time (no link-time dependency, no Python headers: every entry used here is part of
// CPython's stable ABI, so one table serves 3.8 ... 3.13).
#ifndef INCQ_ARK_PYTHON_API_HPP
#define INCQ_ARK_PYTHON_API_HPP

#include <cstddef>
#include <string>

namespace incq::ark {

using PyObj = void;  // PyObject*, opaque here

struct PythonApi {
  void* lib = nullptr;  // dlopen handle (or RTLD_DEFAULT when the process already had Python)
  int (*Py_IsInitialized)() = nullptr;
  void (*Py_InitializeEx)(int) = nullptr;
  void (*Py_SetPythonHome)(const wchar_t*) = nullptr;  // optional (deprecated since 3.11)
  wchar_t* (*Py_DecodeLocale)(const char*, size_t*) = nullptr;
  int* Py_NoSiteFlag = nullptr;  // optional data symbol
  void* (*PyEval_SaveThread)() = nullptr;
  int (*PyGILState_Ensure)() = nullptr;
  void (*PyGILState_Release)(int) = nullptr;
  PyObj* (*PyImport_AddModule)(const char*) = nullptr;
  PyObj* (*PyModule_GetDict)(PyObj*) = nullptr;
  PyObj* (*PyRun_String)(const char*, int, PyObj*, PyObj*) = nullptr;
  PyObj* (*PyDict_GetItemString)(PyObj*, const char*) = nullptr;  // borrowed
  PyObj* (*PyObject_GetAttrString)(PyObj*, const char*) = nullptr;
  PyObj* (*PyObject_CallObject)(PyObj*, PyObj*) = nullptr;
  PyObj* (*PyTuple_New)(ptrdiff_t) = nullptr;
  int (*PyTuple_SetItem)(PyObj*, ptrdiff_t, PyObj*) = nullptr;  // steals the item
  PyObj* (*PyLong_FromLongLong)(long long) = nullptr;
  PyObj* (*PyLong_FromUnsignedLongLong)(unsigned long long) = nullptr;
  unsigned long long (*PyLong_AsUnsignedLongLong)(PyObj*) = nullptr;
  PyObj* (*PyBool_FromLong)(long) = nullptr;
  PyObj* (*PyErr_Occurred)() = nullptr;
  void (*PyErr_Fetch)(PyObj**, PyObj**, PyObj**) = nullptr;
  PyObj* (*PyObject_Str)(PyObj*) = nullptr;
  const char* (*PyUnicode_AsUTF8)(PyObj*) = nullptr;  // stable ABI since 3.10
  PyObj* (*PyUnicode_FromString)(const char*) = nullptr;
  void (*Py_DecRef)(PyObj*) = nullptr;
};

// Loads `libpython_path` RTLD_GLOBAL (extension modules resolve Py* symbols from the global scope)
// unless the process already holds an interpreter, and resolves the table. Returns "" or the reason.
std::string load_python_api(const std::string& libpython_path, PythonApi& api);

// Starts the interpreter if nobody did (isolated from site hooks; home = python_home) and leaves
// the GIL released. Returns "" or the reason.
std::string start_interpreter(PythonApi& api, const std::string& python_home);

// The pending Python exception as text ("" when none); clears it.
std::string take_python_error(const PythonApi& api);

// Holds the GIL for its lifetime (any thread).
class GilLock {
 public:
  explicit GilLock(const PythonApi& api) : api_(api), state_(api.PyGILState_Ensure()) {}
  ~GilLock() { api_.PyGILState_Release(state_); }
  GilLock(const GilLock&) = delete;
  GilLock& operator=(const GilLock&) = delete;

 private:
  const PythonApi& api_;
  int state_;
};

}  // namespace incq::ark

#endif
