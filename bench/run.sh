#!/usr/bin/env bash
# Builds attune_bench, runs the suite with repetitions (interleaved, so slow drift of the machine
# hits every implementation alike) and prints a ratio table from the medians:
# attune GFLOP/s, % of the FMA peak measured in the same run (its best, and the peak measured
# right before and after each attune row), attune / each peer, and the GEMM
# ceiling (onednn_gemms_only: the same two GEMMs without softmax) with attune / it; decode rows
# (memory-bound) also as GB/s and % of the read bandwidth measured in the same run.
#
#   bench/run.sh                                   # full suite, 3 repetitions
#   bench/run.sh --benchmark_filter='S:(1024|2048)/' --benchmark_repetitions=5
#
# Arguments go to the benchmark binary (later flags override the defaults below).
# BUILD_DIR (default build/release) selects the build tree; it is configured with the release
# preset if it does not exist yet. The JSON results are kept in $BUILD_DIR/bench/attune_bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  if [[ "$build_dir" == build/release ]]; then
    cmake --preset release
  else
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
  fi
fi
cmake --build "$build_dir" --target attune_bench -j "$(nproc)"

json="$build_dir/bench/attune_bench.json"
"$build_dir/bench/attune_bench" --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
  --benchmark_display_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json "$@"

python3 - "$json" <<'PY'
import json, statistics, sys
from collections import defaultdict

data = json.load(open(sys.argv[1]))
gflops, gbs, adjacent, errors, order = defaultdict(list), defaultdict(list), defaultdict(list), {}, {}
for b in data["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue  # aggregates are recomputed below from the repetitions
    # run_name: group/impl/workload[/min_time:...][/real_time], or fma_peak[/...]
    parts = b["run_name"].split("/")
    key = ("fma_peak", "", "") if parts[0] == "fma_peak" else tuple(parts[:3])
    order[key] = b["family_index"]  # registration order (random interleaving shuffles the runs)
    if b.get("error_occurred"):
        errors[key] = b.get("error_message", "error")
    else:
        if "GFLOP/s" in b:
            gflops[key].append(b["GFLOP/s"])
        if "GB/s" in b:
            gbs[key].append(b["GB/s"])
        if "pct_adjacent_peak" in b:
            adjacent[key].append(b["pct_adjacent_peak"])

med = lambda xs: statistics.median(xs) if xs else None
# (max - min) / median of a row's repetitions: how steady the machine was for it.
spread_of = lambda xs: f"{(max(xs) - min(xs)) / med(xs) * 100:.1f}%" if len(xs) > 1 else "-"
peak_ctx = float(data["context"].get("fma_peak_gflops", "nan"))
peak_run = gflops.get(("fma_peak", "", ""), [])
# A busy machine lowers the startup figure too: % of peak uses the best peak seen in the run.
peak = max([peak_ctx] + peak_run)
print(f"\nFMA peak: {peak_ctx:.1f} GFLOP/s at startup (best of 5)", end="")
if peak_run:
    print(f", {min(peak_run):.1f}..{max(peak_run):.1f} between the benchmarks", end="")
print(f"; {data['context'].get('threads', '?')} threads; %peak below is of {peak:.1f}")
print("%adj: % of the FMA peak measured right before and after the row (the better of the two), median over repetitions")

def fmt(x, spec):
    return format(x, spec) if x is not None else "-"

head = (f"{'group/workload':32s} {'attune':>8s} {'spread':>7s} {'%peak':>6s} {'%adj':>5s} "
        f"{'unfused':>8s} {'strong':>8s} {'x unfused':>10s} {'x strong':>9s} {'gemms':>7s} {'x gemms':>8s}")
print(head + "\n" + "-" * len(head))
for group, impl, workload in sorted(order, key=order.get):
    if impl != "attune":
        continue
    key = (group, impl, workload)
    name = f"{group}/{workload}"
    if key in errors:
        print(f"{name:32s} skipped: {errors[key]}")
        continue
    xs = gflops[key]
    g = med(xs)
    spread = spread_of(xs)
    u = med(gflops.get((group, "onednn_unfused", workload), []))
    s = med(gflops.get((group, "onednn_unfused_strong", workload), []))
    c = med(gflops.get((group, "onednn_gemms_only", workload), []))
    print(f"{name:32s} {g:8.1f} {spread:>7s} "
          f"{g / peak * 100:6.1f} {fmt(med(adjacent[key]), '5.1f'):>5s} {fmt(u, '8.1f'):>8s} {fmt(s, '8.1f'):>8s} "
          f"{fmt(g / u if u else None, '10.2f'):>10s} {fmt(g / s if s else None, '9.2f'):>9s} "
          f"{fmt(c, '7.1f'):>7s} {fmt(g / c if c else None, '8.2f'):>8s}")
# Ceilings: attune's inner-loop shape alone, operands in L1 or streamed from L2.
for key in sorted(order, key=order.get):
    if key[0] == "ceiling" and gflops.get(key):
        g = med(gflops[key])
        print(f"{'/'.join(key):32s} {g:8.1f} GFLOP/s, {g / peak * 100:.1f}% of the FMA peak")
# Memory-bound rows (decode reads the whole KV cache once): GB/s against the read bandwidth,
# the best of the startup probe and its re-measurements between the benchmarks.
bw_ctx = float(data["context"].get("read_bandwidth_gbs", "nan"))
bw_run = [x for key, xs in gbs.items() if key[:2] == ("ceiling", "read_bandwidth") for x in xs]
bw = max([bw_ctx] + bw_run)
decode_rows = [k for k in sorted(order, key=order.get) if k[1] == "attune" and "decode" in k[2] and gbs.get(k)]
if decode_rows:
    print(f"Read bandwidth: {bw_ctx:.1f} GB/s at startup (best of 8)", end="")
    if bw_run:
        print(f", {min(bw_run):.1f}..{max(bw_run):.1f} between the benchmarks", end="")
    print(f"; %bw below is of {bw:.1f}")
for key in decode_rows:
    xs = gbs[key]
    g = med(xs)
    spread = spread_of(xs)
    print(f"{key[0] + '/' + key[2]:32s} {g:8.1f} GB/s, {g / bw * 100:.1f}% of the read bandwidth (spread {spread})")
# Halide's autoschedulers on the same generator (rows "sdpa/halide_<name>/<workload>").
for group, impl, workload in sorted(order, key=order.get):
    if not impl.startswith("halide_"):
        continue
    key = (group, impl, workload)
    a = med(gflops.get((group, "attune", workload), []))
    if key in errors:
        print(f"{group}/{workload} {impl}: skipped: {errors[key]}")
    elif gflops[key]:
        g = med(gflops[key])
        print(f"{group}/{workload} {impl}: {g:.1f} GFLOP/s; attune is {fmt(a / g if a else None, '.1f')}x faster")
print("GFLOP/s are medians over repetitions; spread = (max - min) / median of attune's repetitions.")
# The FMA peak re-measured between the other benchmarks drops when something else uses the cores.
if peak_run and min(peak_run) < 0.9 * peak:
    print(f"WARNING: the FMA peak fell to {min(peak_run):.0f} GFLOP/s (best {peak:.0f}) during the run: "
          "the machine was busy, compare only numbers from a quiet run.")
PY
