#!/usr/bin/env bash
# Issue 15 benchmark: RCAR releases/s and p50/p99 with the embedded SQLite store (one
# process) against PostgreSQL 15 with one and with two replicas, in one run on this machine
# (bench/rcar_load; a throwaway PostgreSQL from tests/pg/pg_server.sh, fsync on, as in
# production). Prints a table and the ratios docs/benchmarks.md records.
# Usage: scripts/bench_ha.sh BUILD_DIR [OUT_DIR]   (ROUNDS=, CLIENTS= override 400 and 8)
set -euo pipefail
build=$(realpath "${1:?usage: bench_ha.sh BUILD_DIR [OUT_DIR]}")
out=${2:-$build/bench/results}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
rounds=${ROUNDS:-400}
clients=${CLIENTS:-8}
load=$build/bench/rcar_load
[[ -x $load ]] || { echo "bench_ha: build bench/rcar_load first (make build)"; exit 1; }

state=$(mktemp -d)
trap '"$here/../tests/pg/pg_server.sh" stop "$state"; rm -rf "$state"' EXIT
"$here/../tests/pg/pg_server.sh" start "$state"
# The test server runs with fsync off; a benchmark of a store must not.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
sed -i 's/-c fsync=off -c synchronous_commit=off -c full_page_writes=off//' "$state/options"
"$here/../tests/pg/pg_server.sh" pause "$state"
"$here/../tests/pg/pg_server.sh" resume "$state"

cpu() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat; }  # busy idle (jiffies)
run() {  # run NAME ARGS...: rcar_load, and how busy the machine's CPUs were meanwhile
  local name=$1
  shift
  echo "== $name"
  local before after
  before=$(cpu)
  "$load" --rounds "$rounds" --clients "$clients" --out "$out/ha_$name.json" "$@"
  after=$(cpu)
  /usr/bin/python3 -c 'import sys; b=list(map(int,sys.argv[1].split())); a=list(map(int,sys.argv[2].split())); busy=a[0]-b[0]; idle=a[1]-b[1]; print(round(busy/(busy+idle),3))' \
    "$before" "$after" >"$out/ha_$name.cpu"
}
run sqlite
run pg1 --store "$("$here/../tests/pg/pg_server.sh" createdb "$state" bench1)"
run pg2 --store "$("$here/../tests/pg/pg_server.sh" createdb "$state" bench2)" --replicas 2

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = {n: json.load(open(f"{out}/ha_{n}.json"))["rcar_load"][0] for n in ("sqlite", "pg1", "pg2")}
print(f"{'store':<22}{'p50 ms':>9}{'p99 ms':>9}{'releases/s':>12}{'CPU busy':>10}")
names = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 replica", "pg2": "PostgreSQL, 2 replicas"}
for n, r in rows.items():
    busy = float(open(f"{out}/ha_{n}.cpu").read())
    print(f"{names[n]:<22}{r['rcar_p50_us']/1000:>9.2f}{r['rcar_p99_us']/1000:>9.2f}{r['releases_per_s']:>12.1f}{busy:>10.0%}")
print(f"PostgreSQL 1 replica p50 / SQLite p50: {rows['pg1']['rcar_p50_us']/rows['sqlite']['rcar_p50_us']:.2f} (target <= 1.5)")
print(f"2 replicas / 1 replica releases/s: {rows['pg2']['releases_per_s']/rows['pg1']['releases_per_s']:.2f} (target >= 1.6 when clients are not the bottleneck)")
PY
