#!/usr/bin/env bash
# One command for a new user: install dependencies, build attune (AOT-compiling the
# kernels), and run the example that calls attune::sdpa.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
./build/release/examples/sdpa_example
