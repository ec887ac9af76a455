#include "python_api.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace incq::ark {
namespace {

template <typename Fn>
bool resolve(void* lib, const char* name, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(lib, name));
  if (out == nullptr && missing.empty()) missing = name;
  return out != nullptr;
}

}  // namespace

std::string load_python_api(const std::string& libpython_path, PythonApi& api) {
  // A host that is itself a Python process (or embeds one) already has the symbols: reuse that
  // interpreter instead of loading a second libpython, which would corrupt both.
  void* lib = nullptr;
  if (dlsym(RTLD_DEFAULT, "Py_IsInitialized") != nullptr) {
    lib = RTLD_DEFAULT;
  } else {
    lib = dlopen(libpython_path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) {
      const char* e = dlerror();
      return "cannot load libpython '" + libpython_path + "': " + (e ? e : "unknown dlopen error");
    }
  }
  api.lib = lib;
  std::string missing;
  resolve(lib, "Py_IsInitialized", api.Py_IsInitialized, missing);
  resolve(lib, "Py_InitializeEx", api.Py_InitializeEx, missing);
  resolve(lib, "Py_DecodeLocale", api.Py_DecodeLocale, missing);
  resolve(lib, "PyEval_SaveThread", api.PyEval_SaveThread, missing);
  resolve(lib, "PyGILState_Ensure", api.PyGILState_Ensure, missing);
  resolve(lib, "PyGILState_Release", api.PyGILState_Release, missing);
  resolve(lib, "PyImport_AddModule", api.PyImport_AddModule, missing);
  resolve(lib, "PyModule_GetDict", api.PyModule_GetDict, missing);
  resolve(lib, "PyRun_String", api.PyRun_String, missing);
  resolve(lib, "PyDict_GetItemString", api.PyDict_GetItemString, missing);
  resolve(lib, "PyObject_GetAttrString", api.PyObject_GetAttrString, missing);
  resolve(lib, "PyObject_CallObject", api.PyObject_CallObject, missing);
  resolve(lib, "PyTuple_New", api.PyTuple_New, missing);
  resolve(lib, "PyTuple_SetItem", api.PyTuple_SetItem, missing);
  resolve(lib, "PyLong_FromLongLong", api.PyLong_FromLongLong, missing);
  resolve(lib, "PyLong_FromUnsignedLongLong", api.PyLong_FromUnsignedLongLong, missing);
  resolve(lib, "PyLong_AsUnsignedLongLong", api.PyLong_AsUnsignedLongLong, missing);
  resolve(lib, "PyBool_FromLong", api.PyBool_FromLong, missing);
  resolve(lib, "PyErr_Occurred", api.PyErr_Occurred, missing);
  resolve(lib, "PyErr_Fetch", api.PyErr_Fetch, missing);
  resolve(lib, "PyObject_Str", api.PyObject_Str, missing);
  resolve(lib, "PyUnicode_AsUTF8", api.PyUnicode_AsUTF8, missing);
  resolve(lib, "Py_DecRef", api.Py_DecRef, missing);
  resolve(lib, "PyUnicode_FromString", api.PyUnicode_FromString, missing);
  if (!missing.empty()) return "libpython '" + libpython_path + "' lacks the C-API function " + missing;
  // Optional: gone in future versions, harmless to skip.
  api.Py_SetPythonHome = reinterpret_cast<void (*)(const wchar_t*)>(dlsym(lib, "Py_SetPythonHome"));
  api.Py_NoSiteFlag = reinterpret_cast<int*>(dlsym(lib, "Py_NoSiteFlag"));
  return "";
}

std::string start_interpreter(PythonApi& api, const std::string& python_home) {
  if (api.Py_IsInitialized()) return "";  // the host's own interpreter: nothing to start
  // The home must outlive the interpreter, hence the intentional leak.
  if (api.Py_SetPythonHome != nullptr && !python_home.empty()) {
    wchar_t* home = api.Py_DecodeLocale(python_home.c_str(), nullptr);
    if (home != nullptr) api.Py_SetPythonHome(home);
  }
  // No `site`: .pth hooks of the environment (torch, IDE helpers ...) must not run inside the host;
  // ARK's CPU extension is loaded by file path and needs only the standard library.
  if (api.Py_NoSiteFlag != nullptr) *api.Py_NoSiteFlag = 1;
  api.Py_InitializeEx(0);  // 0: leave the host's signal handlers alone
  if (!api.Py_IsInitialized()) return "the embedded Python interpreter failed to start";
  api.PyEval_SaveThread();  // release the GIL: every later call takes it with GilLock
  return "";
}

std::string take_python_error(const PythonApi& api) {
  if (api.PyErr_Occurred() == nullptr) return "";
  PyObj *type = nullptr, *value = nullptr, *trace = nullptr;
  api.PyErr_Fetch(&type, &value, &trace);
  std::string text = "unknown Python error";
  PyObj* source = value != nullptr ? value : type;
  if (source != nullptr) {
    PyObj* str = api.PyObject_Str(source);
    if (str != nullptr) {
      const char* utf8 = api.PyUnicode_AsUTF8(str);
      if (utf8 != nullptr) text = utf8;
      api.Py_DecRef(str);
    }
  }
  if (type != nullptr) {
    PyObj* name = api.PyObject_GetAttrString(type, "__name__");
    if (name != nullptr) {
      const char* utf8 = api.PyUnicode_AsUTF8(name);
      if (utf8 != nullptr) text = std::string(utf8) + ": " + text;
      api.Py_DecRef(name);
    }
  }
  if (api.PyErr_Occurred() != nullptr) {  // an error while formatting the error: drop it
    PyObj *t2 = nullptr, *v2 = nullptr, *tb2 = nullptr;
    api.PyErr_Fetch(&t2, &v2, &tb2);
    for (PyObj* o : {t2, v2, tb2}) if (o != nullptr) api.Py_DecRef(o);
  }
  for (PyObj* o : {type, value, trace}) if (o != nullptr) api.Py_DecRef(o);
  return text;
}

}  // namespace incq::ark
