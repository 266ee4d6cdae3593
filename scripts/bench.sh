#!/usr/bin/env bash
# `make bench`: runs every benchmark binary and prints the target ratios.
# Usage: scripts/bench.sh BUILD_DIR   (results also saved as BUILD_DIR/bench/results/*.json)
# Environment: CRYPTA_AUDIT_BENCH_ENTRIES (audit log size for audit_bench, default 1000000;
# filling it takes about two minutes), RCAR_ROUNDS / RCAR_CLIENTS (rcar_load, default 300
# rounds at 1 and 4 concurrent clients), RCAR_SLOW (slow connections held during the
# repeated measurement, default 1000; 0 skips it), CRYPTA_SKIP_RUNTIME_BENCH=1 (skips
# scripts/bench_runtime.sh, the confidential-inference runs, about 4 minutes; its own
# RUNTIME_BENCH_* variables shorten it, e.g. RUNTIME_BENCH_HOLD_SECONDS=10),
# CRYPTA_SKIP_SDK_BENCH=1 (skips scripts/bench_sdk.sh, the Python/Node.js SDKs against C++).
set -euo pipefail
build=${1:-build}
out="$build/bench/results"
mkdir -p "$out"
export CRYPTA_AUDIT_BENCH_ENTRIES=${CRYPTA_AUDIT_BENCH_ENTRIES:-1000000}
for b in "$build"/bench/*_bench; do
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_format=console --benchmark_out="$out/$name.json" --benchmark_out_format=json
done
if [[ -x "$build/bench/rcar_load" ]]; then
  echo "== rcar_load"
  "$build/bench/rcar_load" --rounds "${RCAR_ROUNDS:-300}" --clients "${RCAR_CLIENTS:-1,4}" \
    --slow "${RCAR_SLOW:-1000}" \
    --out "$out/rcar_load.json"
fi
if [[ -x "$build/bench/runtime_load" && ${CRYPTA_SKIP_RUNTIME_BENCH:-0} != 1 ]]; then
  echo "== runtime_load (scripts/bench_runtime.sh)"
  "$(dirname "$0")/bench_runtime.sh" "$build" "$out" || echo "bench_runtime.sh: FAILED (see above)"
fi
if [[ -x "$build/bench/sdk_predict_load" && ${CRYPTA_SKIP_SDK_BENCH:-0} != 1 ]]; then
  echo "== SDKs (scripts/bench_sdk.sh)"
  "$(dirname "$0")/bench_sdk.sh" "$build" "$out" || echo "bench_sdk.sh: FAILED (see above)"
fi
if [[ -x "$build/bench/rcar_load" ]]; then
  echo "== HA store: SQLite vs PostgreSQL, 1 and 2 replicas (scripts/bench_ha.sh)"
  "$(dirname "$0")/bench_ha.sh" "$build" "$out" || echo "bench_ha.sh: FAILED (see above)"
fi
python3 "$(dirname "$0")/bench_ratios.py" "$out"
