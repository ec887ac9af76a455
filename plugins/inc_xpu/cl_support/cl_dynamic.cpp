// Forwarding definitions of the OpenCL entry points (see cl_dynamic.hpp). Only the 1.2 entry points
// the project uses are here; add one line per new entry point.
#include "cl_dynamic.hpp"

#include <dlfcn.h>

#include <mutex>

namespace incq::cl_dynamic {
namespace {

struct Loader {
  void* handle = nullptr;
  std::string error;
};

const Loader& loader() {
  static const Loader l = [] {
    Loader out;
    // libOpenCL.so.1 is the ICD loader's soname (ocl-icd, Khronos); vendor ICDs come through it.
    for (const char* name : {"libOpenCL.so.1", "libOpenCL.so"}) {
      out.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (out.handle != nullptr) return out;
      const char* e = dlerror();
      if (out.error.empty()) out.error = std::string("no OpenCL ICD loader: ") + (e ? e : name);
    }
    return out;
  }();
  return l;
}

void* symbol(const char* name) {
  const Loader& l = loader();
  return l.handle != nullptr ? dlsym(l.handle, name) : nullptr;
}

}  // namespace

const std::string& loader_error() {
  static const std::string none;
  return loader().handle != nullptr ? none : loader().error;
}

std::string status_name(cl_int s) {
  const char* n = "CL_ERROR";
  switch (s) {
    case CL_SUCCESS: n = "CL_SUCCESS"; break;
    case CL_DEVICE_NOT_FOUND: n = "CL_DEVICE_NOT_FOUND"; break;
    case CL_DEVICE_NOT_AVAILABLE: n = "CL_DEVICE_NOT_AVAILABLE"; break;
    case CL_COMPILER_NOT_AVAILABLE: n = "CL_COMPILER_NOT_AVAILABLE"; break;
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: n = "CL_MEM_OBJECT_ALLOCATION_FAILURE"; break;
    case CL_OUT_OF_RESOURCES: n = "CL_OUT_OF_RESOURCES"; break;
    case CL_OUT_OF_HOST_MEMORY: n = "CL_OUT_OF_HOST_MEMORY"; break;
    case CL_BUILD_PROGRAM_FAILURE: n = "CL_BUILD_PROGRAM_FAILURE"; break;
    case CL_INVALID_VALUE: n = "CL_INVALID_VALUE"; break;
    case CL_INVALID_DEVICE_TYPE: n = "CL_INVALID_DEVICE_TYPE"; break;
    case CL_INVALID_PLATFORM: n = "CL_INVALID_PLATFORM"; break;
    case CL_INVALID_DEVICE: n = "CL_INVALID_DEVICE"; break;
    case CL_INVALID_CONTEXT: n = "CL_INVALID_CONTEXT"; break;
    case CL_INVALID_COMMAND_QUEUE: n = "CL_INVALID_COMMAND_QUEUE"; break;
    case CL_INVALID_MEM_OBJECT: n = "CL_INVALID_MEM_OBJECT"; break;
    case CL_INVALID_BINARY: n = "CL_INVALID_BINARY"; break;
    case CL_INVALID_BUILD_OPTIONS: n = "CL_INVALID_BUILD_OPTIONS"; break;
    case CL_INVALID_PROGRAM: n = "CL_INVALID_PROGRAM"; break;
    case CL_INVALID_PROGRAM_EXECUTABLE: n = "CL_INVALID_PROGRAM_EXECUTABLE"; break;
    case CL_INVALID_KERNEL_NAME: n = "CL_INVALID_KERNEL_NAME"; break;
    case CL_INVALID_KERNEL: n = "CL_INVALID_KERNEL"; break;
    case CL_INVALID_ARG_INDEX: n = "CL_INVALID_ARG_INDEX"; break;
    case CL_INVALID_ARG_VALUE: n = "CL_INVALID_ARG_VALUE"; break;
    case CL_INVALID_ARG_SIZE: n = "CL_INVALID_ARG_SIZE"; break;
    case CL_INVALID_KERNEL_ARGS: n = "CL_INVALID_KERNEL_ARGS"; break;
    case CL_INVALID_WORK_DIMENSION: n = "CL_INVALID_WORK_DIMENSION"; break;
    case CL_INVALID_WORK_GROUP_SIZE: n = "CL_INVALID_WORK_GROUP_SIZE"; break;
    case CL_INVALID_WORK_ITEM_SIZE: n = "CL_INVALID_WORK_ITEM_SIZE"; break;
    case CL_INVALID_GLOBAL_OFFSET: n = "CL_INVALID_GLOBAL_OFFSET"; break;
    case CL_INVALID_BUFFER_SIZE: n = "CL_INVALID_BUFFER_SIZE"; break;
    case CL_INVALID_GLOBAL_WORK_SIZE: n = "CL_INVALID_GLOBAL_WORK_SIZE"; break;
    case -1001: n = "CL_PLATFORM_NOT_FOUND_KHR"; break;
    default: break;
  }
  return std::string(n) + " (" + std::to_string(s) + ")";
}

}  // namespace incq::cl_dynamic

using incq::cl_dynamic::symbol;

// Status-returning entry points: forward, or CL_INVALID_PLATFORM without a loader.
#define INCQ_CL_STATUS_FN(name, params, args)                                          \
  extern "C" __attribute__((visibility("hidden"))) cl_int name params {               \
    using Fn = cl_int(*) params;                                                       \
    static Fn fn = reinterpret_cast<Fn>(symbol(#name));                                \
    return fn != nullptr ? fn args : CL_INVALID_PLATFORM;                              \
  }
// Object-returning entry points whose last parameter is cl_int* errcode_ret.
#define INCQ_CL_OBJECT_FN(type, name, params, args)                                    \
  extern "C" __attribute__((visibility("hidden"))) type name params {                 \
    using Fn = type(*) params;                                                         \
    static Fn fn = reinterpret_cast<Fn>(symbol(#name));                                \
    if (fn != nullptr) return fn args;                                                 \
    if (errcode_ret != nullptr) *errcode_ret = CL_INVALID_PLATFORM;                    \
    return nullptr;                                                                    \
  }

INCQ_CL_STATUS_FN(clGetPlatformIDs, (cl_uint n, cl_platform_id* p, cl_uint* np), (n, p, np))
INCQ_CL_STATUS_FN(clGetPlatformInfo, (cl_platform_id p, cl_platform_info i, size_t s, void* v, size_t* r), (p, i, s, v, r))
INCQ_CL_STATUS_FN(clGetDeviceIDs, (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id* d, cl_uint* nd),
                  (p, t, n, d, nd))
INCQ_CL_STATUS_FN(clGetDeviceInfo, (cl_device_id d, cl_device_info i, size_t s, void* v, size_t* r), (d, i, s, v, r))
INCQ_CL_OBJECT_FN(cl_context, clCreateContext,
                  (const cl_context_properties* p, cl_uint n, const cl_device_id* d,
                   void(CL_CALLBACK* cb)(const char*, const void*, size_t, void*), void* u, cl_int* errcode_ret),
                  (p, n, d, cb, u, errcode_ret))
INCQ_CL_STATUS_FN(clRetainContext, (cl_context c), (c))
INCQ_CL_STATUS_FN(clReleaseContext, (cl_context c), (c))
INCQ_CL_STATUS_FN(clGetContextInfo, (cl_context c, cl_context_info i, size_t s, void* v, size_t* r), (c, i, s, v, r))
INCQ_CL_OBJECT_FN(cl_command_queue, clCreateCommandQueue,
                  (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int* errcode_ret),
                  (c, d, p, errcode_ret))
INCQ_CL_STATUS_FN(clRetainCommandQueue, (cl_command_queue q), (q))
INCQ_CL_STATUS_FN(clReleaseCommandQueue, (cl_command_queue q), (q))
INCQ_CL_STATUS_FN(clGetCommandQueueInfo, (cl_command_queue q, cl_command_queue_info i, size_t s, void* v, size_t* r),
                  (q, i, s, v, r))
INCQ_CL_OBJECT_FN(cl_mem, clCreateBuffer, (cl_context c, cl_mem_flags f, size_t s, void* h, cl_int* errcode_ret),
                  (c, f, s, h, errcode_ret))
INCQ_CL_STATUS_FN(clRetainMemObject, (cl_mem m), (m))
INCQ_CL_STATUS_FN(clReleaseMemObject, (cl_mem m), (m))
INCQ_CL_STATUS_FN(clGetMemObjectInfo, (cl_mem m, cl_mem_info i, size_t s, void* v, size_t* r), (m, i, s, v, r))
INCQ_CL_OBJECT_FN(cl_program, clCreateProgramWithSource,
                  (cl_context c, cl_uint n, const char** s, const size_t* l, cl_int* errcode_ret),
                  (c, n, s, l, errcode_ret))
INCQ_CL_OBJECT_FN(cl_program, clCreateProgramWithBinary,
                  (cl_context c, cl_uint n, const cl_device_id* d, const size_t* l, const unsigned char** b,
                   cl_int* st, cl_int* errcode_ret),
                  (c, n, d, l, b, st, errcode_ret))
INCQ_CL_STATUS_FN(clBuildProgram,
                  (cl_program p, cl_uint n, const cl_device_id* d, const char* o,
                   void(CL_CALLBACK* cb)(cl_program, void*), void* u),
                  (p, n, d, o, cb, u))
INCQ_CL_STATUS_FN(clGetProgramBuildInfo,
                  (cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void* v, size_t* r),
                  (p, d, i, s, v, r))
INCQ_CL_STATUS_FN(clGetProgramInfo, (cl_program p, cl_program_info i, size_t s, void* v, size_t* r), (p, i, s, v, r))
INCQ_CL_STATUS_FN(clReleaseProgram, (cl_program p), (p))
INCQ_CL_OBJECT_FN(cl_kernel, clCreateKernel, (cl_program p, const char* n, cl_int* errcode_ret), (p, n, errcode_ret))
INCQ_CL_STATUS_FN(clReleaseKernel, (cl_kernel k), (k))
INCQ_CL_STATUS_FN(clSetKernelArg, (cl_kernel k, cl_uint i, size_t s, const void* v), (k, i, s, v))
INCQ_CL_STATUS_FN(clGetKernelWorkGroupInfo,
                  (cl_kernel k, cl_device_id d, cl_kernel_work_group_info i, size_t s, void* v, size_t* r),
                  (k, d, i, s, v, r))
INCQ_CL_STATUS_FN(clEnqueueNDRangeKernel,
                  (cl_command_queue q, cl_kernel k, cl_uint w, const size_t* o, const size_t* g, const size_t* l,
                   cl_uint ne, const cl_event* el, cl_event* e),
                  (q, k, w, o, g, l, ne, el, e))
INCQ_CL_STATUS_FN(clEnqueueWriteBuffer,
                  (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void* p, cl_uint ne,
                   const cl_event* el, cl_event* e),
                  (q, m, b, o, s, p, ne, el, e))
INCQ_CL_STATUS_FN(clEnqueueReadBuffer,
                  (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void* p, cl_uint ne,
                   const cl_event* el, cl_event* e),
                  (q, m, b, o, s, p, ne, el, e))
INCQ_CL_STATUS_FN(clEnqueueCopyBuffer,
                  (cl_command_queue q, cl_mem a, cl_mem b, size_t oa, size_t ob, size_t s, cl_uint ne,
                   const cl_event* el, cl_event* e),
                  (q, a, b, oa, ob, s, ne, el, e))
INCQ_CL_STATUS_FN(clEnqueueFillBuffer,
                  (cl_command_queue q, cl_mem m, const void* p, size_t ps, size_t o, size_t s, cl_uint ne,
                   const cl_event* el, cl_event* e),
                  (q, m, p, ps, o, s, ne, el, e))
INCQ_CL_STATUS_FN(clFinish, (cl_command_queue q), (q))
INCQ_CL_STATUS_FN(clFlush, (cl_command_queue q), (q))
INCQ_CL_STATUS_FN(clWaitForEvents, (cl_uint n, const cl_event* e), (n, e))
INCQ_CL_STATUS_FN(clReleaseEvent, (cl_event e), (e))
INCQ_CL_STATUS_FN(clGetEventProfilingInfo, (cl_event e, cl_profiling_info i, size_t s, void* v, size_t* r),
                  (e, i, s, v, r))
