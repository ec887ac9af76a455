#!/bin/sh
# Runs a test (default tests/test_gemm_microkernels.cpp) with every src/gemm/*_amx.cpp built over amx_emul.hpp (scalar
# tile emulation), so the AMX paths' logic is checked on a machine without AMX (slow; not CI).
# Usage: [TEST=name] tests/gemm_tuning/amx_emulation/build_and_run.sh [build-dir] [gtest args]
#   (core lib built there; TEST: a tests/<name>.cpp linked against the core lib, default
#   test_gemm_microkernels; e.g. TEST=test_inc_cpu_int_fast_prefill runs the prefill path on AMX)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
shift || true
test=${TEST:-test_gemm_microkernels}
lib=$(find "$build" -name libincq_inc_cpu_core.a | head -1)
out=$build/amx_emulation
mkdir -p "$out"
isa="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mavx512vnni -mamx-tile -mamx-int8 -mamx-bf16"
inc="-I$root/plugins/inc_cpu/src -I$root/plugin_api/include -I$root/tests"
objs=""
for f in "$root"/plugins/inc_cpu/src/gemm/*_amx.cpp; do
  o=$out/$(basename "$f" .cpp).o
  c++ -O1 -std=c++17 $isa $inc -include "$here/amx_emul.hpp" -c "$f" -o "$o"
  objs="$objs $o"
done
c++ -O1 -std=c++17 $inc -c "$here/permission_stub.cpp" -o "$out/permission_stub.o"
c++ -O1 -std=c++17 $inc -c "$root/tests/$test.cpp" -o "$out/$test.o"
c++ "$out/$test.o" $objs "$out/permission_stub.o" "$lib" -lgtest -lgtest_main -lpthread -o "$out/${test}_amx_emulated"
"$out/${test}_amx_emulated" "$@"
