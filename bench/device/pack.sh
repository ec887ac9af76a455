#!/usr/bin/env bash
# Assembles a self-contained copy of the benchmark for the measurement host (no package registry
# there): incq_bench, every built plugin, the non-system shared libraries they need (found by ldd:
# libdnnl, libfmt, libspdlog, libgomp ...), the problem lists and run_xeon.sh.
#   bash bench/device/pack.sh [BUILD_DIR] [DEST]      defaults: ./build, /work/main/.dev-bench
# PLUGINS=DIR takes the plugins from another build (e.g. a branch's) instead of BUILD_DIR's.
# PERF=1 adds this machine's perf and its libraries (perf.tar.xz), for profile_xeon.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
dest=${2:-/work/main/.dev-bench}
[ -x "$build/bin/incq_bench" ] || { echo "pack.sh: $build/bin/incq_bench not built (ninja -C $build incq_bench)" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest/plugins" "$dest/lib" "$dest/problems"
cp "$build/bin/incq_bench" "$dest/"
cp "${PLUGINS:-$build/lib/incq/plugins}"/libincq_*.so "$dest/plugins/"
# Debug info is most of the size and the transfer to the host is limited.
strip --strip-debug "$dest/incq_bench" "$dest"/plugins/*.so
cp "$repo"/bench/problems/*.txt "$dest/problems/"
cp "$repo/bench/device/run_xeon.sh" "$repo/bench/device/profile_xeon.sh" "$dest/"

# Everything ldd resolves except the C/C++ runtime, which the host has (newer, compatible).
system='/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libresolv|ld-linux-x86-64)\.so'
for f in "$dest/incq_bench" "$dest"/plugins/*.so; do
  ldd "$f" | awk '/=> \// {print $3}'
done | sort -u | grep -Ev "$system" | while read -r lib; do
  cp -L "$lib" "$dest/lib/"
done
if [ "${PERF:-0}" = 1 ]; then
  mkdir -p "$dest/perf/lib"
  cp -L "$(command -v perf)" "$dest/perf/"
  ldd "$dest/perf/perf" | awk '/=> \// {print $3}' | grep -Ev "$system" | while read -r lib; do
    cp -L "$lib" "$dest/perf/lib/"
  done
  # Compressed: perf's libraries (python, perl ...) would take a third of the 64 MiB transfer.
  tar -cJf "$dest/perf.tar.xz" -C "$dest" perf && rm -rf "$dest/perf"
fi
du -sh "$dest"
ls -la "$dest" "$dest/lib" "$dest/plugins"
