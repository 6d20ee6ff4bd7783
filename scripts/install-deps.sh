#!/usr/bin/env bash
# Installs what attune's build, tests, benchmarks and tools need on Debian bookworm.
# Idempotent: only missing packages are installed; safe to run on every build.
set -euo pipefail

PKGS=(
  cmake g++ make ninja-build ccache pkg-config
  libhalide14-0-dev llvm-14-dev clang-14 liblld-14-dev libclang-14-dev  # Halide 14 + what its CMake config references
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  libdnnl-dev                         # benchmark peer (oneDNN sgemm)
  gnuplot-nox                         # attune plot
  pocl-opencl-icd ocl-icd-opencl-dev  # GPU schedules tested through OpenCL on the CPU
  python3                             # fixture generation helpers
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all dependencies present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
