# cmake -P script run by ctest (see CMakeLists.txt for the arguments). Needs a full build first.
#  1. cmake --install the build into a fresh temporary prefix;
#  2. configure and build examples/out_of_tree_plugin with CMAKE_PREFIX_PATH=<prefix> only;
#  3. compile and link the same source with `pkg-config --cflags incq-plugin` and its version_script;
#  4. <prefix>/bin/incq loads the example from its build directory, and verifies it on a synthetic
#     8-bit GPTQ v2 checkpoint against the oracle;
#  5. <prefix>/bin/incq, without --plugin-dir, finds inc_cpu in <prefix>/lib/incq/plugins.
# Everything is written under the temporary directory, which is removed at the end, pass or fail.
cmake_minimum_required(VERSION 3.22)

foreach(arg BUILD_DIR EXAMPLE_DIR INCQ_EXE INC_CPU_PLUGIN GENERATOR CXX_COMPILER PKG_CONFIG)
  if(NOT DEFINED ${arg})
    message(FATAL_ERROR "missing -D${arg}=...")
  endif()
endforeach()
foreach(built "${INCQ_EXE}" "${INC_CPU_PLUGIN}")
  if(NOT EXISTS "${built}")
    message(FATAL_ERROR "${built} is not built: run `cmake --build ${BUILD_DIR}` before ctest")
  endif()
endforeach()

# Nothing from the caller's environment may point the host or the builds elsewhere.
foreach(var DESTDIR CMAKE_PREFIX_PATH PKG_CONFIG_PATH INCQ_PLUGIN_PATH INCQ_BACKEND INCQ_DISABLE INCQ_CONFIG)
  unset(ENV{${var}})
endforeach()

set(tmp_root "$ENV{TMPDIR}")
if(NOT tmp_root)
  set(tmp_root "/tmp")
endif()
string(RANDOM LENGTH 10 suffix)
set(work "${tmp_root}/incq-packaging-test-${suffix}")
file(MAKE_DIRECTORY "${work}")
file(REAL_PATH "${work}" work)  # the host reports canonical paths
set(prefix "${work}/prefix")
set(example_build "${work}/example-build")

macro(fail why)
  file(REMOVE_RECURSE "${work}")
  message(FATAL_ERROR "${why}")
endmacro()

# Runs a command; fails the test with its output unless it exits 0. Leaves stdout in `run_out`.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  list(JOIN ARGN " " command_line)
  if(NOT rc EQUAL 0)
    fail("${what} failed (${rc}):\n$ ${command_line}\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# Index of the plugin called `name` in the `incq plugins --json` output, or -1.
function(find_plugin json name out_index)
  set(found -1)
  string(JSON count LENGTH "${json}" plugins)
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON n GET "${json}" plugins ${i} name)
      if(n STREQUAL name)
        set(found ${i})
      endif()
    endforeach()
  endif()
  set(${out_index} ${found} PARENT_SCOPE)
endfunction()

# 1. install
run("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
set(installed_incq "${prefix}/bin/incq")

# 2. the example through the CMake package
run("configuring the example" "${CMAKE_COMMAND}" -S "${EXAMPLE_DIR}" -B "${example_build}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release)
file(STRINGS "${example_build}/CMakeCache.txt" incq_dir REGEX "^incq_DIR:")
if(NOT incq_dir STREQUAL "incq_DIR:PATH=${prefix}/lib/cmake/incq")
  fail("the example found incq elsewhere than the temporary prefix: ${incq_dir}")
endif()
run("building the example" "${CMAKE_COMMAND}" --build "${example_build}")
if(NOT EXISTS "${example_build}/libincq_example_echo.so")
  fail("the example build did not produce libincq_example_echo.so")
endif()

# 3. the same source through pkg-config
set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
run("pkg-config --cflags" "${PKG_CONFIG}" --cflags incq-plugin)
separate_arguments(cflags UNIX_COMMAND "${run_out}")
run("pkg-config --variable=version_script" "${PKG_CONFIG}" --variable=version_script incq-plugin)
string(STRIP "${run_out}" version_script)
run("pkg-config --variable=plugindir" "${PKG_CONFIG}" --variable=plugindir incq-plugin)
string(STRIP "${run_out}" plugindir)
file(REAL_PATH "${plugindir}" plugindir)
if(NOT plugindir STREQUAL "${prefix}/lib/incq/plugins")
  fail("pkg-config plugindir is ${plugindir}, expected ${prefix}/lib/incq/plugins")
endif()
file(MAKE_DIRECTORY "${work}/pkg-config-build")
run("compiling the example with pkg-config flags" "${CXX_COMPILER}" -std=c++17 ${cflags} -fPIC -shared
    -fvisibility=hidden "-Wl,--version-script=${version_script}" -Wl,--no-undefined
    -o "${work}/pkg-config-build/libincq_example_echo.so" "${EXAMPLE_DIR}/example_echo.cpp")

# 4. the installed host loads the example, and the example computes what the oracle computes
run("incq plugins (example)" "${installed_incq}" --no-default-plugin-dirs --plugin-dir "${example_build}"
    plugins --json)
set(json "${run_out}")
find_plugin("${json}" example_echo index)
if(index EQUAL -1)
  fail("example_echo is not listed as loaded:\n${json}")
endif()
string(JSON impl GET "${json}" plugins ${index} implementations 0 name)
string(JSON usable GET "${json}" plugins ${index} availability cpu usable)
string(JSON failed LENGTH "${json}" failed)
if(NOT impl STREQUAL "example_echo.int8_gptq_v2_linear" OR NOT usable OR NOT failed EQUAL 0)
  fail("example_echo loaded wrongly (impl '${impl}', usable '${usable}', ${failed} failed):\n${json}")
endif()

set(ckpt "${work}/int8-gptq-v2")
run("incq synth" "${installed_incq}" synth --bits 8 --group-size 32 --packing-format auto_round --act-order
    --hidden 64 --intermediate 96 --out "${ckpt}")
run("incq verify with the example" "${installed_incq}" --no-default-plugin-dirs --plugin-dir "${example_build}"
    --backend example_echo.int8_gptq_v2_linear verify "${ckpt}" --tokens 1,3 --json)
string(FIND "${run_out}" "example_echo.int8_gptq_v2_linear" used)
if(used EQUAL -1)
  fail("verify did not run example_echo:\n${run_out}")
endif()

# 5. the installed host finds the installed inc_cpu next to itself
run("incq plugins (defaults)" "${installed_incq}" plugins --json)
set(json "${run_out}")
find_plugin("${json}" inc_cpu index)
if(index EQUAL -1)
  fail("inc_cpu is not loaded by the installed incq:\n${json}")
endif()
string(JSON path GET "${json}" plugins ${index} path)
if(NOT path STREQUAL "${prefix}/lib/incq/plugins/libincq_inc_cpu.so")
  fail("inc_cpu was loaded from ${path}, not from the install prefix")
endif()

file(REMOVE_RECURSE "${work}")
message(STATUS "packaging test passed")
