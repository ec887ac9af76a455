#!/usr/bin/env bash
# The inc_xpu benchmark in one command, on a machine with an NVIDIA GPU and torch (the measurement
# host): an ICD file for NVIDIA's OpenCL driver, incq_xpu_bench, the torch baselines, the table.
#   bash bench/xpu/run.sh DEV_DIR OUT_DIR
# DEV_DIR holds bin/incq_xpu_bench, plugins/libincq_inc_xpu.so and lib/ (the non-system shared
# libraries the binaries need); see bench/xpu/README.md for how it is made.
set -euo pipefail
DEV=$(cd "${1:?DEV_DIR}" && pwd)
OUT=${2:?OUT_DIR}
mkdir -p "$OUT"
ICD_DIR=$(mktemp -d)
echo "${NVIDIA_OPENCL_LIB:-/usr/local/nvidia/lib64/libnvidia-opencl.so.1}" > "$ICD_DIR/nvidia.icd"
export OCL_ICD_VENDORS=$ICD_DIR
export LD_LIBRARY_PATH="$DEV/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
machine="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo '?')"
"$DEV/bin/incq_xpu_bench" --plugin-dir "$DEV/plugins" --cache-dir "$OUT/clcache" ${XPU_BENCH_ARGS:-} > "$OUT/xpu.json"
python3 "$(dirname "$0")/torch_baseline.py" > "$OUT/torch.json" || echo "torch baseline failed" >&2
python3 "$(dirname "$0")/report.py" "$OUT/xpu.json" "$OUT/torch.json" "$machine" | tee "$OUT/table.txt"
