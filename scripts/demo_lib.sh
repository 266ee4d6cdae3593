# Shared by `make demo` (scripts/demo.sh) and the examples (examples/*/run.sh): narration,
# process cleanup, and the steps of the confidential-inference flow (DESIGN.md §3).
# Source it with `build` set to the build directory; it sets crypta, runtime, models, work.
# shellcheck shell=bash
crypta="$build/bin/crypta"
runtime="$build/bin/crypta-runtime"
models="$build/models"
python=$(command -v /usr/bin/python3 || command -v python3)  # Debian's, with python3-torch
for f in "$crypta" "$runtime" "$models/tiny_cnn.pt"; do
  [[ -e $f ]] || { echo "demo: $f is missing; run 'make build' first" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/crypta-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
unset CRYPTA_URL CRYPTA_TOKEN CRYPTA_CA_CERT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "${*//$work\//}"; "$@"; }
indent() { sed 's/^/   /' "$@"; }
# wait_for FILE PATTERN: waits up to 60 s for a line matching PATTERN in FILE.
wait_for() {
  for _ in $(seq 1 600); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for /$2/ in $1:" >&2
  cat "$1" >&2
  exit 1
}

# start_platform: `crypta up` over TLS in $work/platform; sets platform, url, dd.
start_platform() {
  platform="$work/platform"
  "$crypta" up --listen 127.0.0.1:0 --data-dir "$platform" >up.log 2>&1 &
  pids+=($!)
  wait_for up.log "no hardware isolation"
  indent up.log
  dd=(--data-dir "$platform")
  url=$(cat "$platform/url")
}

# use_tenant_user TENANT: a tenant-user token, used through the environment from now on (the
# token stays off the command lines shown).
use_tenant_user() {
  "$crypta" token create --tenant "$1" --role tenant-user "${dd[@]}" >token.txt
  export CRYPTA_URL=$url CRYPTA_CA_CERT=$platform/tls/ca.pem CRYPTA_TOKEN=$(tail -n 1 token.txt)
  echo "   a tenant-user token for $1 (printed once by \`crypta token create\`; kept in a file here)"
}

# push_sealed TENANT KEY NAME FILE: checks, seals and pushes (with FILE's signature, the
# .signature.json beside it, when there is one); sets ref and checks the store holds
# ciphertext only.
push_sealed() {
  local sig=()
  [[ -f ${4%.*}.signature.json ]] && sig=(--signature "${4%.*}.signature.json")
  run "$crypta" model push --tenant "$1" --key "$2" --name "$3" --in "$4" "${sig[@]}" --tee sim |
    tee push.txt
  ref=$(tail -n 1 push.txt)
  local digest=${ref##*sha256:}
  local blob="$platform/blobs/sha256/${digest:0:2}/$digest"
  if cmp -s "$4" "$blob"; then echo "demo: the store holds plaintext" >&2; exit 1; fi
  echo "   the control plane holds ciphertext only ($(stat -c %s "$blob") bytes)"
}

# allow_launch TENANT KEY RUNTIME_ARGS...: measures the launch and sets a key-release policy
# allowing exactly that measurement (sim TEE); sets measurement.
allow_launch() {
  local tenant=$1 key=$2
  shift 2
  measurement=$("$crypta" sim measure -- "$@")
  echo "   measurement (SHA-384 of the runtime binary, its arguments and the model reference):"
  echo "   $measurement"
  printf 'tee: [sim]\nallow_simulated: true   # demo only: the sim TEE gives no isolation\nallow_debug: false\nmeasurements: [%s]\n' \
    "$measurement" >policy.yaml
  indent policy.yaml
  run "$crypta" policy set --tenant "$tenant" --key "$key" -f policy.yaml "${dd[@]}"
}

# launch_sim RUNTIME_ARGS...: crypta-runtime in the sim TEE; sets service (its URL). Its output
# goes to runtime.out/.err, or $log_name.out/.err when log_name is set (a second runtime).
launch_sim() {
  local log=${log_name:-runtime}
  "$crypta" sim launch "${dd[@]}" -- "$@" >"$log.out" 2>"$log.err" &
  pids+=($!)
  wait_for "$log.out" "serving https?://"
  indent "$log.err"
  service=$(sed -n 's/^crypta-runtime: serving \(https\{0,1\}:[^ ]*\).*/\1/p' "$log.out")
  echo "   serving at $service"
}

# stop_all: stops the runtime and the control plane (in that order).
stop_all() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  pids=()
}
