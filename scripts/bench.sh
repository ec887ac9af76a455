#!/usr/bin/env bash
# Set up, build, and run the benchmark suite (bench/README.md). Arguments go to incq_bench.
#   bash scripts/bench.sh [run|targets|list] [--problems decode] [--threads 1,2] [--json FILE] ...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target incq_bench
args=("$@")
has_json=0
for a in "$@"; do case "$a" in --json|--json=*) has_json=1 ;; esac; done
if [ $has_json -eq 0 ]; then args+=(--json build/bench-results.json); fi
# oneDNN's OpenMP threads stop spinning about 1 ms after its calls, so they do not take the cores
# from the candidate that runs next in an interleaved repetition (bench/README.md, Method).
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-20000}
exec build/bin/incq_bench "${args[@]}"
