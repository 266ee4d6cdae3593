#!/usr/bin/env bash
# Fuzzing campaign (issue 14): scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
#
# Configures BUILD_DIR (default build-fuzz) with clang-14 and -DCRYPTA_LIBFUZZER=ON (libFuzzer,
# ASan, UBSan; Debian's clang-14 and libclang-rt-14-dev, see scripts/setup.sh), builds only the
# fuzz targets (CMake target crypta_fuzzers: never libtorch or OpenCV code), then runs each
# target listed in BUILD_DIR/fuzz_targets.txt for SECONDS_PER_TARGET seconds (default 60)
# on a temporary copy of its corpus testdata/fuzz/<name>/ (testdata is never written).
# Prints one line per target (executions, coverage, corpus growth) and exits 1 if any target
# crashed, leaked, hit UBSan, timed out (10 s per input) or exceeded 2 GiB; the reproducer is
# kept in BUILD_DIR/fuzz-artifacts/<target>/ and its log in BUILD_DIR/fuzz-logs/<target>.log
# (replay: BUILD_DIR/bin/<target> FILE).
#
# Environment: JOBS (parallel compile jobs, default nproc), FUZZ_JOBS (targets run at the same
# time, default 1), FUZZ_TARGETS (space-separated subset, e.g. "jwt_fuzz x509_fuzz"),
# CRYPTA_FUZZ_KEEP_CORPUS=1 (keep the grown corpora in BUILD_DIR/fuzz-corpus/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build_dir=${2:-build-fuzz}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
fuzz_jobs=${FUZZ_JOBS:-1}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET] [BUILD_DIR]" >&2; exit 2; }

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
if [[ -f $build_dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14' "$build_dir/CMakeCache.txt"; then
  echo "fuzz: $build_dir was configured with another compiler; use a fresh BUILD_DIR" >&2
  exit 1
fi

t0=$SECONDS
mkdir -p "$build_dir"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCRYPTA_LIBFUZZER=ON -DCRYPTA_BUILD_TESTS=ON >"$build_dir/configure.log" 2>&1 || {
  cat "$build_dir/configure.log" >&2
  exit 1
}
rm -f "$build_dir/configure.log"
cmake --build "$build_dir" --target crypta_fuzzers -j"$jobs"
echo "fuzz: configured and built in $((SECONDS - t0)) s"

bin_dir=$build_dir/bin
logs=$build_dir/fuzz-logs
artifacts=$build_dir/fuzz-artifacts
rm -rf "$logs"
mkdir -p "$logs" "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/crypta-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

# fuzz_one NAME CORPUS: runs one target; writes its summary line to $work/NAME.summary.
fuzz_one() {
  local name=$1 corpus=$2 log=$logs/$1.log rc=0
  mkdir -p "$work/$name" "$artifacts/$name"
  if [[ -d $corpus ]]; then cp -R "$corpus/." "$work/$name/"; fi
  local before
  before=$(find "$work/$name" -type f | wc -l)
  "$bin_dir/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name/" "$work/$name" >"$log" 2>&1 || rc=$?
  local execs cov0 cov1 ft0 ft1 rate new status=OK
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
  cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
  ft0=$(sed -n 's/.*INITED.* ft: \([0-9]*\).*/\1/p' "$log" | head -n 1)
  cov1=$(sed -n 's/^#[0-9]*.* cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  ft1=$(sed -n 's/^#[0-9]*.* ft: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if ((rc != 0)); then
    status="FAILED (exit $rc; log $log; reproducer $(ls "$artifacts/$name/" 2>/dev/null | head -n 1))"
  fi
  printf 'fuzz: %-22s %s: %s execs (%s/s), cov %s -> %s, ft %s -> %s, corpus %s + %s new\n' \
    "$name" "${status%% *}" "${execs:-?}" "${rate:-?}" "${cov0:-?}" "${cov1:-?}" "${ft0:-?}" \
    "${ft1:-?}" "$before" "${new:-?}" >"$work/$name.summary"
  if ((rc != 0)); then
    echo "fuzz: $name $status" >>"$work/$name.summary"
    local first
    first=$(grep -n -m 1 -E 'ERROR|runtime error:|ALARM' "$log" | cut -d: -f1 || true)
    if [[ -n $first ]]; then
      sed -n "${first},$((first + 60))p" "$log" >>"$work/$name.summary"
    else
      tail -n 40 "$log" >>"$work/$name.summary"
    fi
    touch "$work/$name.failed"
  fi
  if [[ ${CRYPTA_FUZZ_KEEP_CORPUS:-0} == 1 ]]; then
    mkdir -p "$build_dir/fuzz-corpus"
    rm -rf "$build_dir/fuzz-corpus/$name"
    cp -R "$work/$name" "$build_dir/fuzz-corpus/$name"
  fi
  rm -rf "$work/$name"
}

names=()
while read -r name corpus; do
  [[ -n $name ]] || continue
  if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  names+=("$name")
  while (($(jobs -rp | wc -l) >= fuzz_jobs)); do wait -n || true; done
  echo "fuzz: $name for $seconds s"
  fuzz_one "$name" "$corpus" &
done <"$build_dir/fuzz_targets.txt"
wait

echo "fuzz: ${#names[@]} target(s), $seconds s each, $((SECONDS - t0)) s in all"
failed=0
for name in "${names[@]}"; do
  cat "$work/$name.summary"
  [[ ! -e $work/$name.failed ]] || failed=$((failed + 1))
done
if ((failed > 0)); then
  echo "fuzz: $failed target(s) FAILED (logs in $logs, reproducers in $artifacts)" >&2
  exit 1
fi
