#!/usr/bin/env bash
# Builds and runs the benchmark suite, then prints attune's ratio to each peer per S.
# Extra arguments go to the benchmark binary (e.g. --benchmark_filter=S:2048).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target attune_bench
out=$(mktemp)
./build/release/bench/attune_bench --benchmark_out="$out" --benchmark_out_format=json "$@"
python3 - "$out" <<'PY'
import json, sys, re
data = json.load(open(sys.argv[1]))
rate = {}
for b in data["benchmarks"]:
    m = re.match(r"(sdpa|family)/([^/]+)/([^/]+)", b["name"])
    if m and "GFLOP/s" in b:
        rate[(m.group(2), m.group(3))] = (b["GFLOP/s"], b["pct_peak"])
peak = float(data["context"].get("fma_peak_gflops", 0))
print(f"\nFMA peak (this run): {peak:.0f} GFLOP/s")
print(f"{'workload':22s} {'attune GFLOP/s':>15s} {'% peak':>7s} {'x unfused':>10s} {'x strong':>9s}")
for (impl, wl), (g, pct) in sorted(rate.items(), key=lambda kv: kv[0][1]):
    if impl != "attune": continue
    u = rate.get(("onednn_unfused", wl)); s = rate.get(("onednn_unfused_strong", wl))
    print(f"{wl:22s} {g:15.1f} {pct:7.1f} {g/u[0] if u else float('nan'):10.2f} {g/s[0] if s else float('nan'):9.2f}")
PY
