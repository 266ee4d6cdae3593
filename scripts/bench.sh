#!/usr/bin/env bash
# `make bench`: runs every benchmark binary and prints the target ratios.
# Usage: scripts/bench.sh BUILD_DIR   (results also saved as BUILD_DIR/bench/results/*.json)
set -euo pipefail
build=${1:-build}
out="$build/bench/results"
mkdir -p "$out"
for b in "$build"/bench/*_bench; do
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_format=console --benchmark_out="$out/$name.json" --benchmark_out_format=json
done
python3 "$(dirname "$0")/bench_ratios.py" "$out"
