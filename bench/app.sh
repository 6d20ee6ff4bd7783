#!/usr/bin/env bash
# attune measured as an application meets it: bench/app/attune_app, built against the installed
# package (find_package(attune)), run in fresh processes: each one's first call, then the
# median of repeated calls in the same process. The app fills its tensors in an OpenMP loop just
# before the first call. Four ways an app runs attune (the "runs on" column says where a call
# made after the process's repeated calls would run): `own`, the app's OpenMP threads unbound
# (they spin-wait after the loop, GOMP_SPINCOUNT: a few ms, and attune runs on them meanwhile by
# default); `pinned`, OMP_PROC_BIND=true (the calling thread is bound to one CPU before attune
# runs; attune runs on the bound OpenMP threads by default); `omp-pool`, attune::use_openmp;
# `no-omp`, attune's pool in an app that fills on its calling thread (no OpenMP thread runs).
#
#   bench/app.sh                       # S = 512 .. 32768, B=1 H=8 D=64 (~16 min on 2 cores)
#   bench/app.sh 4096 16384            # chosen lengths
#   APP_FLAGS="--causal" bench/app.sh  # extra attune_app flags (--dim, --heads, --omp-pool)
#   PROCESSES=9 bench/app.sh 512       # fresh processes per row (default 5, 3 from S=8192)
#
# BUILD_DIR (default build/release) is the built tree installed into $BUILD_DIR/app/prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
work="$build_dir/app"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S bench/app -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PWD/$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
app="$work/build/attune_app"

lengths=("$@")
((${#lengths[@]})) || lengths=(512 1024 2048 4096 8192 16384 32768)
# A first call happens once per process, and one process's figure moves with the machine (VMs:
# +-20% at S=512): each row is the median of PROCESSES fresh processes (default 5; 3 from
# S=8192 on, whose calls take seconds). first/rep is the median of the per-process ratios.
printf '%-7s %-9s %12s %12s %12s %9s %10s  %s\n' S threads "first GF/s" "repeat GF/s" "first/rep" "app" "runs on" "ratios"
for s in "${lengths[@]}"; do
  # Enough repetitions for a median, about 10 s of calls at most.
  reps=$(python3 -c "print(max(3, min(20, int(10 / (4 * 8 * $s * $s * 64 / 300e9)))))")
  procs=${PROCESSES:-$((s >= 8192 ? 3 : 5))}
  for pool in own pinned omp-pool no-omp; do
    binding=(-u OMP_PROC_BIND -u OMP_PLACES) flags=()
    case $pool in
      pinned) binding=(OMP_PROC_BIND=true OMP_PLACES=cores) ;;
      omp-pool) flags=(--omp-pool) ;;
      no-omp) flags=(--serial-fill) ;;
    esac
    lines=()
    for ((p = 0; p < procs; ++p)); do
      lines+=("$(env "${binding[@]}" "$app" "$s" --repeat "$reps" "${flags[@]}" ${APP_FLAGS:-})")
    done
    python3 - "$s" "$pool" "${lines[@]}" <<'PY'
import re, statistics, sys
s, pool, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
first = [float(re.search(r"first call [\d.]+ ms, ([\d.]+) GFLOP/s", l).group(1)) for l in lines]
rep = [float(re.search(r"repeated: median [\d.]+ ms, ([\d.]+) GFLOP/s", l).group(1)) for l in lines]
ratios = sorted(f / r for f, r in zip(first, rep))
threads = re.search(r"threads=(\d+) caller_cpus=(\d+) pool=(\S+):", lines[0])
med = statistics.median
print(f"{s:<7} {threads.group(1) + ' (caller ' + threads.group(2) + ')':<9} {med(first):12.1f} {med(rep):12.1f} "
      f"{med(ratios):12.2f} {pool:>9} {threads.group(3):>10}  {' '.join(f'{x:.2f}' for x in ratios)}")
PY
  done
done
