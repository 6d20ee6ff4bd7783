#!/usr/bin/env bash
# One command for a new user: install dependencies, build attune, tune the example's
# workload on this machine for a minute, rebuild the kernels from the tuned config, and run
# the example that calls attune::sdpa (error vs the double reference, GFLOP/s).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release
cmake --build --preset release

attune=./build/release/autotune/attune
db=build/release/quickstart_tuning.jsonl
$attune tune --shape 1x8x1024x1024x64 --budget "${ATTUNE_QUICKSTART_BUDGET:-1m}" --db "$db"
$attune show --db "$db"
$attune export --db "$db" --out build/release/tuned/quickstart.json

# AOT-compile the tuned schedule into libattune on top of the shipped ones (only the kernels
# whose config changed rebuild); `attune which` shows the kernel and config the call now runs.
$attune which --shape 1x8x1024x1024x64
cmake --preset release -DATTUNE_TUNED_CONFIGS="$PWD/schedules/tuned;$PWD/build/release/tuned"
cmake --build --preset release
$attune which --shape 1x8x1024x1024x64
./build/release/examples/sdpa_example
