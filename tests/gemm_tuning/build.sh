#!/bin/sh
# Builds the tuning driver against a configured build dir's core library (not part of CI).
# Usage: tests/gemm_tuning/build.sh [build-dir]   (run `ninja -C build incq_inc_cpu_core` first)
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
lib=$(find "$build" -name libincq_inc_cpu_core.a | head -1)
c++ -O2 -g -std=c++17 -I"$root/plugins/inc_cpu/src" -I"$root/plugin_api/include" \
  "$root/tests/gemm_tuning/gemm_tune.cpp" "$lib" -ldnnl -lpthread -o "$build/gemm_tune"
echo "$build/gemm_tune"
