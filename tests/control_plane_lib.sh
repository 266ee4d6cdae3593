# Shared by the control-plane CLI tests: a work dir cleaned up on exit, a background
# `crypta up --insecure-http`, and small assertion helpers. Source it after setting
# `crypta` to the binary under test.

crypta=$(realpath "$crypta")  # the tests cd into their work dir
tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
server_pid=
launcher_pid=
# stop_runtime: stops the `crypta sim launch` that launch_runtime started (also on exit).
stop_runtime() {
  if [[ -n $launcher_pid ]]; then
    kill "$launcher_pid" 2>/dev/null
    wait "$launcher_pid" 2>/dev/null
    launcher_pid=
  fi
}
cleanup() {
  stop_runtime
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
unset CRYPTA_URL CRYPTA_TOKEN CRYPTA_CA_CERT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_ok NAME CMD...: exit 0; stdout in out.txt.
expect_ok() {
  local name=$1
  shift
  if ! "$@" >out.txt 2>err.txt; then fail "$name: exit $? ($(cat err.txt))"; fi
}
# expect_error NAME EXPECTED_REGEX CMD...: exit 1 and one stderr line "crypta: error: …"
# matching the regex.
expect_error() {
  local name=$1 want=$2
  shift 2
  "$@" >out.txt 2>err.txt
  local rc=$?
  if [[ $rc -ne 1 ]]; then fail "$name: exit $rc, want 1"; return; fi
  if [[ $(wc -l <err.txt) -ne 1 ]] || ! grep -qE "^crypta: error: .*($want)" err.txt; then
    fail "$name: stderr $(cat err.txt), want /$want/"
  fi
}
# contains NAME REGEX: out.txt matches.
contains() { grep -qE -- "$2" out.txt || fail "$1: output lacks /$2/: $(cat out.txt)"; }

# store_args DATA_DIR: "--store URL" when the test runs against PostgreSQL (ctest's *.postgres
# variants set CRYPTA_TEST_PG_STATE, the state dir of tests/pg/pg_server.sh) and the data
# dir has no store yet; the database is named after the data dir, so each gets its own.
# Empty otherwise (the embedded SQLite).
store_args() {
  if [[ -n ${CRYPTA_TEST_PG_STATE:-} && ! -f $1/store.url && ! -f $1/crypta.db ]]; then
    local name
    name=d_$(printf '%s' "$(realpath -m "$1")" | sha256sum | cut -c1-20)
    echo "--store"
    "$tests_dir/pg/pg_server.sh" createdb "$CRYPTA_TEST_PG_STATE" "$name"
  fi
}

# start_server DATA_DIR [tls]: starts `crypta up` on a free loopback port (plaintext HTTP,
# or TLS with the data dir's CA when the second argument is "tls") and waits for its url
# file; sets server_pid and url. Exits the test if the server does not come up.
start_server() {
  local mode=(--insecure-http)
  [[ ${2:-} == tls ]] && mode=()
  rm -f "$1/url"
  local store
  mapfile -t store < <(store_args "$1")
  "$crypta" up --listen 127.0.0.1:0 "${mode[@]}" "${store[@]}" --data-dir "$1" >server.log 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    [[ -s $1/url ]] && break
    sleep 0.05
  done
  [[ -s $1/url ]] || { echo "FAIL: crypta up wrote no $1/url: $(cat server.log)"; exit 1; }
  url=$(cat "$1/url")
}

# stop_server: SIGTERM, and crypta up must exit 0.
stop_server() {
  kill "$server_pid"
  wait "$server_pid" || fail "crypta up exit status $?"
  server_pid=
}

# free_port: a loopback TCP port free right now. The seeds ask for port 8080; tests that run
# them on this host use their own port instead, so two test runs at once (the SQLite and the
# PostgreSQL variants under ctest -j) do not race for the same one.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# finish: the test's verdict from the failure count.
finish() {
  if [[ $failures -ne 0 ]]; then echo "$failures failure(s)"; exit 1; fi
  echo "PASS"
}

# use_tiny_model MODELS_DIR BACKEND: sets model_file to tiny_cnn for torchscript|onnx (made by
# scripts/make_models.py, target crypta_test_models) and checks the sample files exist.
use_tiny_model() {
  case $2 in
    torchscript) model_file=$1/tiny_cnn.pt ;;
    onnx) model_file=$1/tiny_cnn.onnx ;;
    *) echo "FAIL: backend $2"; exit 1 ;;
  esac
  local f
  for f in "$model_file" "$1/tiny_cnn.signature.json" "$1/tiny_cnn.input.npy" \
    "$1/tiny_cnn.expected.npy"; do
    [[ -f $f ]] || { echo "FAIL: missing $f (build the crypta_test_models target)"; exit 1; }
  done
}

# launch_runtime DATA_DIR RUNTIME ARGS...: `crypta sim launch -- RUNTIME ARGS...` in the background
# (launcher_pid; stdout runtime.out, stderr runtime.err), then waits up to 60 s for its
# "crypta-runtime: serving http://…" line: rurl is the URL, or "" when it did not come.
# sim_launch_flags: extra `sim launch` options (e.g. --gpus 2).
sim_launch_flags=()
launch_runtime() {
  local data=$1
  shift
  "$crypta" sim launch --data-dir "$data" "${sim_launch_flags[@]}" -- "$@" >runtime.out 2>runtime.err &
  launcher_pid=$!
  rurl=
  for _ in $(seq 1 600); do
    rurl=$(sed -n 's|^crypta-runtime: serving \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' runtime.out)
    [[ -n $rurl ]] && return 0
    kill -0 "$launcher_pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# serve_tiny_gpt MODELS_DIR: a control plane in $work/data (start_server; dd set), tenant "lab"
# with key "models", scripts/make_models.py's tiny GPT pushed sealed, a key-release policy for
# the runtime's sim measurement, and crypta-runtime serving it under `crypta sim launch`
# (launch_runtime). Sets m (the measurement) and rurl; exits on a setup failure.
serve_tiny_gpt() {
  local models=$1 f
  for f in tiny_gpt.pt tiny_gpt.signature.json tiny_gpt.expected.json; do
    [[ -f $models/$f ]] || { echo "FAIL: missing $models/$f (build crypta_test_models)"; exit 1; }
  done
  data="$work/data"
  start_server "$data"
  dd=(--data-dir "$data")
  expect_ok tenant "$crypta" tenant create lab "${dd[@]}"
  expect_ok key "$crypta" key create --tenant lab models "${dd[@]}"
  expect_ok push "$crypta" model push --tenant lab --key models --name tiny_gpt \
    -f "$models/tiny_gpt.pt" --signature "$models/tiny_gpt.signature.json" "${dd[@]}"
  local ref
  ref=$(tail -n 1 out.txt)
  local rt=("$runtime" --broker "$url" --model "$ref" --backend torchscript
    --model-name tiny_gpt --listen 127.0.0.1:0 --threads 1)
  expect_ok measure "$crypta" sim measure "${dd[@]}" -- "${rt[@]}"
  m=$(tail -n 1 out.txt)
  printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$m" >policy.yaml
  expect_ok policy "$crypta" policy set --tenant lab --key models -f policy.yaml "${dd[@]}"
  [[ $failures -eq 0 ]] || { echo "FAIL: setup: $(cat err.txt)"; exit 1; }
  launch_runtime "$data" "${rt[@]}"
  [[ -n $rurl ]] || { echo "FAIL: the runtime did not start: $(cat runtime.err)"; exit 1; }
}
