#!/usr/bin/env bash
# Unit tests under ASan+UBSan (issue 14): scripts/sanitize.sh [BUILD_DIR]
#
# Configures BUILD_DIR (default build-asan) with clang-14, -fsanitize=address,undefined
# -fno-sanitize-recover=undefined -fno-omit-frame-pointer, builds only the CMake target
# crypta_light_tests (every crypta_test() binary that does not link crypta_infer, i.e. no
# libtorch, OpenCV or ONNX: common, crypto, attest, kbs, audit, store, pki, deploy, net,
# runtime core, client, infer's tensor codecs) and runs their tests (ctest -L unit). Fails if
# a test fails or if any process wrote a sanitizer report
# (reports go to BUILD_DIR/sanitizer-logs/, so ones from child processes count too).
#
# Environment: JOBS (parallel compile and test jobs, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-asan}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || { echo "sanitize: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
if [[ -f $build_dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14' "$build_dir/CMakeCache.txt"; then
  echo "sanitize: $build_dir was configured with another compiler; use a fresh BUILD_DIR" >&2
  exit 1
fi

sanitize_flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
t0=$SECONDS
mkdir -p "$build_dir"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCRYPTA_BUILD_TESTS=ON -DCRYPTA_LIBFUZZER=OFF -DCMAKE_CXX_FLAGS="$sanitize_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >"$build_dir/configure.log" 2>&1 || {
  cat "$build_dir/configure.log" >&2
  exit 1
}
rm -f "$build_dir/configure.log"

logs=$(cd "$build_dir" && pwd)/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$logs/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

# The build runs each test binary once to list its tests (gtest_discover_tests).
cmake --build "$build_dir" --target crypta_light_tests -j"$jobs"
t1=$SECONDS
echo "sanitize: configured and built in $((t1 - t0)) s"

# Label "unit": crypta_test() binaries only (not the end-to-end tests, nor fuzz replays), and
# of those only the ones built here (unbuilt ones have no discovered tests).
rc=0
(cd "$build_dir" && ctest -L '^unit$' -j"$jobs" --output-on-failure --timeout 600) || rc=$?
echo "sanitize: tests ran in $((SECONDS - t1)) s"

if compgen -G "$logs/*" >/dev/null; then
  echo "sanitize: sanitizer reports:" >&2
  for f in "$logs"/*; do
    echo "---- $f" >&2
    head -n 80 "$f" >&2
  done
  exit 1
fi
if ((rc != 0)); then
  echo "sanitize: tests failed" >&2
  exit 1
fi
echo "sanitize: no sanitizer reports"
