#!/bin/sh
# Runs tests/test_gemm_microkernels.cpp with every src/gemm/*_amx.cpp built over amx_emul.hpp (scalar
# tile emulation), so the AMX paths' logic is checked on a machine without AMX (slow; not CI).
# Usage: tests/gemm_tuning/amx_emulation/build_and_run.sh [build-dir]  (core lib and gtest built there)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
lib=$(find "$build" -name libincq_inc_cpu_core.a | head -1)
out=$build/amx_emulation
mkdir -p "$out"
isa="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mavx512vnni -mamx-tile -mamx-int8 -mamx-bf16"
inc="-I$root/plugins/inc_cpu/src -I$root/plugin_api/include"
objs=""
for f in "$root"/plugins/inc_cpu/src/gemm/*_amx.cpp; do
  o=$out/$(basename "$f" .cpp).o
  c++ -O1 -std=c++17 $isa $inc -include "$here/amx_emul.hpp" -c "$f" -o "$o"
  objs="$objs $o"
done
c++ -O1 -std=c++17 $inc -c "$here/permission_stub.cpp" -o "$out/permission_stub.o"
c++ -O1 -std=c++17 $inc -c "$root/tests/test_gemm_microkernels.cpp" -o "$out/test.o"
c++ "$out/test.o" $objs "$out/permission_stub.o" "$lib" -lgtest -lgtest_main -lpthread -o "$out/test_gemm_amx_emulated"
"$out/test_gemm_amx_emulated" "$@"
