#!/usr/bin/env bash
# Stands in for attune_generators in the fault-injection test: configs with q_tile 8, 16,
# 24 or 96 become a faulty kernel (segfault, hang, unbounded allocation, wrong numbers);
# q_tile 128 fails to compile; every other config goes to the real generator.
set -euo pipefail
real=$1; shift
out=""; fn=""; config=""
args=("$@")
for ((n = 0; n < ${#args[@]}; n++)); do
  case "${args[n]}" in
    -o) out=${args[n+1]} ;;
    -f) fn=${args[n+1]} ;;
    config=*) config=${args[n]#config=} ;;
  esac
done
q_tile=$(echo "$config" | sed -n 's/.*"q_tile":\([0-9]*\).*/\1/p')
case "$q_tile" in
  8) fault=1 ;; 16) fault=2 ;; 24) fault=3 ;; 96) fault=4 ;;
  128) echo "injected compile error" >&2; exit 1 ;;
  *) exec "$real" "$@" ;;
esac
cc -O1 -fPIC -DFAULT=$fault -c "$(dirname "$0")/faulty_kernel.c" -o "$out/$fn.o"
