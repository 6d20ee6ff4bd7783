#!/usr/bin/env bash
# Which search strategy wins at a given budget: tunes one workload with each strategy from an
# empty database (same budget, same seed), then prints each one's best and plots best-so-far
# against trials and time for all of them in one PNG.
#   scripts/compare-strategies.sh OUT_DIR BUDGET [attune tune flags...]
#   scripts/compare-strategies.sh /tmp/strat 4m --shape 1x8x1024x1024x64
# ATTUNE (default build/release/autotune/attune) is the CLI to use.
set -euo pipefail
if (($# < 2)); then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
out=$1 budget=$2
shift 2
attune=${ATTUNE:-$(dirname "$0")/../build/release/autotune/attune}
mkdir -p "$out"
for s in model evolutionary random; do
  echo "== $s ($budget)"
  "$attune" tune --strategy "$s" --budget "$budget" --db "$out/$s.jsonl" "$@" | tail -n 1
done
# One database per strategy (each started empty); the plot reads them merged, a curve per strategy.
cat "$out"/{model,evolutionary,random}.jsonl > "$out/all.jsonl"
"$attune" plot --db "$out/all.jsonl" --out "$out/strategies.png"
