// The OpenCL ICD loader, opened at run time instead of linked: a plugin (or host) built with OpenCL
// support still loads on a machine without libOpenCL.so.1 and can say why OpenCL is unusable.
// cl_dynamic.cpp defines the OpenCL C entry points this project calls (hidden inside the module
// that links it); each forwards to the loader's symbol, or fails with CL_INVALID_PLATFORM when no
// loader could be opened.
#ifndef INCQ_CL_DYNAMIC_HPP
#define INCQ_CL_DYNAMIC_HPP

#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include <string>

namespace incq::cl_dynamic {

// "" when the ICD loader is open, else why not (the dlopen error). Opens it on first use.
const std::string& loader_error();

// OpenCL status codes by name, for messages ("CL_OUT_OF_RESOURCES (-5)").
std::string status_name(cl_int status);

}  // namespace incq::cl_dynamic

#endif
