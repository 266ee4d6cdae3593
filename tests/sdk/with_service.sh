#!/usr/bin/env bash
# Runs a command (the Python or Node.js SDK tests) against real processes on loopback:
# `crypta up` (plain HTTP, own data dir) with tenant "radiology", key "models", a key-release
# policy for the runtime's sim measurement, tiny_cnn (TorchScript) pushed, and crypta-runtime
# under `crypta sim launch`. The command sees:
#   CRYPTA_TEST_SERVICE      the runtime's URL (http://127.0.0.1:PORT)
#   CRYPTA_TEST_MEASUREMENT  its sim measurement (hex)
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
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$measurement" >policy.yaml
"$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}" >/dev/null ||
  die "policy set"

launch_runtime "$data" "$runtime" "${args[@]}"
[[ -n $rurl ]] || die "runtime not serving: $(cat runtime.out runtime.err)"

export CRYPTA_TEST_SERVICE=$rurl CRYPTA_TEST_MEASUREMENT=$measurement CRYPTA_TEST_DATA_DIR=$data \
  CRYPTA_TEST_PLATFORM=$url CRYPTA_TEST_MODEL_REF=$ref CRYPTA_TEST_MODELS=$models \
  CRYPTA_TEST_CRYPTA=$crypta CRYPTA_TEST_RUNTIME=$runtime
mkdir -p "$work/scratch"
(cd "$work/scratch" && "${cmd[@]}")
rc=$?
[[ $rc -eq 0 ]] || { echo "--- runtime stderr (tail) ---"; tail -n 20 runtime.err; }
exit $rc
