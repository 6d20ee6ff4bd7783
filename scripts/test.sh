#!/usr/bin/env bash
# One command for the test suite: install dependencies, build, run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
ctest --preset release "$@"
