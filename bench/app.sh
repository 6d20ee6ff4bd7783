#!/usr/bin/env bash
# attune measured as an application meets it: bench/app/attune_app, built against the installed
# package (find_package(attune)), run in a fresh process per row: its first call, then the
# median of repeated calls in the same process. Three ways an app runs it: attune's own pool with
# the app's OpenMP threads unpinned, the same pinned (OMP_PROC_BIND=true: the calling thread is
# bound to one CPU before attune runs), and attune's loops on the app's OpenMP threads
# (attune::use_openmp, `omp-pool`). The app fills its tensors in an OpenMP loop just before the
# first call, so on attune's own pool that call shares the CPUs with libgomp's threads while
# they spin-wait after the loop (GOMP_SPINCOUNT: a few ms); on the app's pool it does not.
#
#   bench/app.sh                       # S = 512 .. 32768, B=1 H=8 D=64
#   bench/app.sh 4096 16384            # chosen lengths
#   APP_FLAGS="--causal" bench/app.sh  # extra attune_app flags (--dim, --heads, --omp-pool)
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
printf '%-7s %-9s %12s %12s %12s %9s\n' S threads "first GF/s" "repeat GF/s" "first/rep" "pool"
for s in "${lengths[@]}"; do
  # Enough repetitions for a median, about 10 s of calls at most.
  reps=$(python3 -c "print(max(3, min(20, int(10 / (4 * 8 * $s * $s * 64 / 300e9)))))")
  for pool in own pinned omp-pool; do
    case $pool in
      own) line=$(env -u OMP_PROC_BIND -u OMP_PLACES "$app" "$s" --repeat "$reps" ${APP_FLAGS:-}) ;;
      pinned) line=$(OMP_PROC_BIND=true OMP_PLACES=cores "$app" "$s" --repeat "$reps" ${APP_FLAGS:-}) ;;
      omp-pool) line=$(env -u OMP_PROC_BIND -u OMP_PLACES "$app" "$s" --repeat "$reps" --omp-pool ${APP_FLAGS:-}) ;;
    esac
    python3 - "$line" "$s" "$pool" <<'PY'
import re, sys
line, s, pool = sys.argv[1:]
first = float(re.search(r"first call [\d.]+ ms, ([\d.]+) GFLOP/s", line).group(1))
rep = float(re.search(r"repeated: median [\d.]+ ms, ([\d.]+) GFLOP/s", line).group(1))
threads = re.search(r"threads=(\d+) caller_cpus=(\d+)", line)
print(f"{s:<7} {threads.group(1) + ' (caller ' + threads.group(2) + ')':<9} {first:12.1f} {rep:12.1f} {first / rep:12.2f} {pool:>9}")
PY
  done
done
