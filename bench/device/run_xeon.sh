#!/usr/bin/env bash
# Runs the benchmark on the measurement host from the folder bench/device/pack.sh assembled, at 1
# and 16 threads, writing the table (.txt), the JSON and the machine description to $OUT.
#   bash .dev-bench/run_xeon.sh [MODE] [incq_bench options...]     MODE: targets (default) | run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-20000}  # as scripts/bench.sh (bench/README.md, Method)
mode=${1:-targets}
shift || true
{ lscpu; echo; free -g; echo; nproc; } > "$out/machine.txt" 2>&1 || true
"$here/incq_bench" list --plugin-dir "$here/plugins" --no-default-plugin-dirs --problems targets > "$out/implementations.txt" 2>&1 || true
"$here/incq_bench" "$mode" --plugin-dir "$here/plugins" --no-default-plugin-dirs --threads 1,16 \
  --json "$out/bench_$mode.json" "$@" 2> "$out/bench_$mode.log" | tee "$out/bench_$mode.txt"
