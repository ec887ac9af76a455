#!/usr/bin/env bash
# Profiles incq_bench on the measurement host with the perf that pack.sh PERF=1 carried: software
# clock sampling (works without hardware counter access), flat profile by symbol, to $OUT.
#   bash .dev-bench/profile_xeon.sh NAME PROBLEM_FILE THREADS [incq_bench run options...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
name=$1 problems=$2 threads=$3
shift 3
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -d "$here/perf" ] || tar -xJf "$here/perf.tar.xz" -C "$here"
perf=("$here/perf/perf")
cat /proc/sys/kernel/perf_event_paranoid > "$out/perf_event_paranoid.txt" 2>&1 || true
LD_LIBRARY_PATH="$here/perf/lib:$LD_LIBRARY_PATH" "${perf[@]}" record -e cpu-clock -F 2000 -o "$out/$name.data" -- \
  "$here/incq_bench" run --plugin-dir "$here/plugins" --no-default-plugin-dirs --problems "$problems" \
  --threads "$threads" --no-reference "$@" > "$out/$name.bench.txt" 2> "$out/$name.perf.log"
echo "perf record exit $?" >> "$out/$name.perf.log"
LD_LIBRARY_PATH="$here/perf/lib:$LD_LIBRARY_PATH" "${perf[@]}" report -i "$out/$name.data" --stdio --no-children \
  --sort comm,dso,symbol 2>> "$out/$name.perf.log" | grep -v '^$' | head -60 > "$out/$name.report.txt"
rm -f "$out/$name.data"
cat "$out/$name.report.txt" | head -40
