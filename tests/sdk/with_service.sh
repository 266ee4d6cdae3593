#!/usr/bin/env bash
# Runs a command (the Python or Node.js SDK tests) against real processes on loopback:
# `crypta up` (plain HTTP, own data dir) with tenant "radiology", key "models", a key-release
# policy for the runtimes' sim measurements, tiny_cnn (TorchScript) pushed and served by
# crypta-runtime under `crypta sim launch`, and the tiny GPT (issue 18, text generation) pushed
# under the same key and served by a second crypta-runtime. The command sees:
#   CRYPTA_TEST_SERVICE      the tiny_cnn runtime's URL (http://127.0.0.1:PORT)
#   CRYPTA_TEST_MEASUREMENT  its sim measurement (hex)
#   CRYPTA_TEST_GEN_SERVICE, CRYPTA_TEST_GEN_MEASUREMENT  the same of the tiny_gpt runtime
#     (model "tiny_gpt"; its prompts and torch's greedy texts in MODELS/tiny_gpt.expected.json)
#   CRYPTA_TEST_DATA_DIR     the control plane's data dir (url, admin.token, sim/ca.pem)
#   CRYPTA_TEST_PLATFORM     the control plane's URL
#   CRYPTA_TEST_MODEL_REF    store:// reference of tiny_cnn
#   CRYPTA_TEST_MODELS       scripts/make_models.py's output (tiny_cnn.input.npy, .expected.npy)
#   CRYPTA_TEST_CRYPTA, CRYPTA_TEST_RUNTIME  the binaries under test
# and runs in a scratch dir (its cwd) removed afterwards. Exit status: the command's.
# Usage: with_service.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR -- CMD [ARGS...]
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
shift 3
[[ ${1:-} == -- ]] && shift
cmd=("$@")
source "$(dirname "$0")/../control_plane_lib.sh"
use_tiny_model "$models" torchscript
for f in tiny_gpt.pt tiny_gpt.signature.json tiny_gpt.expected.json; do
  [[ -f $models/$f ]] || { echo "FAIL: missing $models/$f (build crypta_test_models)"; exit 1; }
done

# The tiny GPT's runtime is launched in gen/ (its own runtime.out/.err) and stopped on exit
# too: control_plane_lib.sh's cleanup knows one launcher only.
gen_launcher_pid=
stop_gen_runtime() {
  if [[ -n $gen_launcher_pid ]]; then
    kill "$gen_launcher_pid" 2>/dev/null
    wait "$gen_launcher_pid" 2>/dev/null
    gen_launcher_pid=
  fi
}
trap 'stop_gen_runtime; cleanup' EXIT

die() { echo "FAIL: $*"; exit 1; }

data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
"$crypta" tenant create radiology "${dd[@]}" >/dev/null || die "tenant create"
"$crypta" key create --tenant radiology models "${dd[@]}" >/dev/null || die "key create"
ref=$("$crypta" model push --tenant radiology --key models --name tiny_cnn -f "$model_file" \
  --signature "$models/tiny_cnn.signature.json" "${dd[@]}" | tail -n 1) || die "model push"
args=(--broker "$url" --model "$ref" --backend torchscript
  --signature "$models/tiny_cnn.signature.json" --workload radiology-demo --listen 127.0.0.1:0
  --tee sim)
measurement=$("$crypta" sim measure "${dd[@]}" -- "$runtime" "${args[@]}" | tail -n 1)
[[ $measurement =~ ^[0-9a-f]{96}$ ]] || die "sim measure: $measurement"
gen_ref=$("$crypta" model push --tenant radiology --key models --name tiny_gpt \
  -f "$models/tiny_gpt.pt" --signature "$models/tiny_gpt.signature.json" "${dd[@]}" |
  tail -n 1) || die "model push tiny_gpt"
gen_args=(--broker "$url" --model "$gen_ref" --backend torchscript --model-name tiny_gpt
  --workload radiology-gen --listen 127.0.0.1:0 --tee sim --threads 1)
gen_measurement=$("$crypta" sim measure "${dd[@]}" -- "$runtime" "${gen_args[@]}" | tail -n 1)
[[ $gen_measurement =~ ^[0-9a-f]{96}$ ]] || die "sim measure (tiny_gpt): $gen_measurement"
# One key, two runtimes: its release policy lists both measurements.
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\n' "$measurement" \
  "$gen_measurement" >policy.yaml
"$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}" >/dev/null ||
  die "policy set"

mkdir -p gen
cd gen || die "cd gen"
launch_runtime "$data" "$runtime" "${gen_args[@]}"
gen_launcher_pid=$launcher_pid
gen_url=$rurl
launcher_pid=
cd "$work" || die "cd $work"
[[ -n $gen_url ]] || die "tiny_gpt runtime not serving: $(cat gen/runtime.out gen/runtime.err)"
launch_runtime "$data" "$runtime" "${args[@]}"
[[ -n $rurl ]] || die "runtime not serving: $(cat runtime.out runtime.err)"

export CRYPTA_TEST_SERVICE=$rurl CRYPTA_TEST_MEASUREMENT=$measurement CRYPTA_TEST_DATA_DIR=$data \
  CRYPTA_TEST_PLATFORM=$url CRYPTA_TEST_MODEL_REF=$ref CRYPTA_TEST_MODELS=$models \
  CRYPTA_TEST_CRYPTA=$crypta CRYPTA_TEST_RUNTIME=$runtime CRYPTA_TEST_GEN_SERVICE=$gen_url \
  CRYPTA_TEST_GEN_MEASUREMENT=$gen_measurement
mkdir -p "$work/scratch"
(cd "$work/scratch" && "${cmd[@]}")
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "--- runtime stderr (tail) ---"
  tail -n 20 "$work/runtime.err"
  echo "--- tiny_gpt runtime stderr (tail) ---"
  tail -n 20 "$work/gen/runtime.err"
fi
exit $rc
