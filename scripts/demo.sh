#!/usr/bin/env bash
# The main job on the built-in default: set up, build, then `incq demo` — synthesize the built-in
# AutoRound-format checkpoints (Linear + MoE, several bits / group sizes / packings, extra_config
# overrides, dense layers), inspect them and verify every layer against the oracle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec ./build/bin/incq demo "$@"
