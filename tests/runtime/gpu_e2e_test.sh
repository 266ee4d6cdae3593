#!/usr/bin/env bash
# Composite CPU + GPU attestation end to end (issue 16), real processes on loopback:
# `crypta up`, a sealed tiny_cnn whose key's release policy has a `gpu:` section, and
# crypta-runtime --gpu-evidence sim under `crypta sim launch --gpus N` (SIMULATED GPUs whose
# reports use the Hopper wire format, signed by sim keys under the platform's sim root).
# The runtime's RCAR sends composite evidence (the GPUs' nonce derived from the session, the
# CPU evidence binding the GPU evidence); the key is released and the model served. Refused:
# the same runtime without GPUs (no GPU evidence to collect), a runtime attesting no GPU
# (the policy requires one), a policy demanding another driver version.
# Usage: gpu_e2e_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
source "$(dirname "$0")/../control_plane_lib.sh"

use_tiny_model "$models" torchscript
data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name tiny_cnn \
  -f "$model_file" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
ref=$(tail -n 1 out.txt)

rt=("$runtime" --broker "$url" --model "$ref" --backend torchscript --model-name tiny_cnn
  --listen 127.0.0.1:0 --threads 1)
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "${rt[@]}" --gpu-evidence sim
with_gpu=$(tail -n 1 out.txt)
expect_ok measure-cpu "$crypta" sim measure "${dd[@]}" -- "${rt[@]}"
cpu_only=$(tail -n 1 out.txt)
policy() {
  printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\ngpu:\n  count: 1\n  driver_versions: [%s]\n' \
    "$with_gpu" "$cpu_only" "$1" >policy.yaml
  expect_ok policy "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"
}
policy 550.90.07

# launch GPUS RUNTIME_ARGS...: launch_runtime under `crypta sim launch --gpus GPUS`.
launch() {
  sim_launch_flags=(--gpus "$1")
  shift
  launch_runtime "$data" "$@"
}

# Two simulated GPUs attested with the sim CPU: the key is released, the model served.
launch 2 "${rt[@]}" --gpu-evidence sim
[[ -n $rurl ]] || fail "the runtime with sim GPUs did not start: $(cat runtime.out runtime.err)"
grep -q "SIMULATED GPU evidence" runtime.err || fail "no SIMULATED GPU warning"
stop_runtime
# The control plane's audit log recorded the release to this composite evidence.
expect_ok audit "$crypta" audit tail -n 50 -o json "${dd[@]}"
grep -q "release" out.txt || fail "no key release audited: $(cat out.txt)"

# Launched without GPUs, the same runtime cannot collect GPU evidence: it exits 1, naming why.
launch 0 "${rt[@]}" --gpu-evidence sim
wait "$launcher_pid"
status=$?
launcher_pid=
[[ $status == 1 && -z $rurl ]] || fail "no-GPU launch: status $status, url '$rurl'"
grep -q "GPU evidence.*no GPUs" runtime.err || fail "no-GPU reason: $(cat runtime.err)"

# A runtime attesting only its CPU: the key's policy requires a GPU.
launch 0 "${rt[@]}"
wait "$launcher_pid"
status=$?
launcher_pid=
[[ $status == 1 && -z $rurl ]] || fail "CPU-only runtime: status $status"
grep -q "gpu.count" runtime.err || fail "CPU-only reason: $(cat runtime.err)"

# A policy listing another driver: refused, naming the GPU and the version.
policy 560.35.03
launch 1 "${rt[@]}" --gpu-evidence sim
wait "$launcher_pid"
status=$?
launcher_pid=
[[ $status == 1 ]] || fail "other driver: status $status"
grep -q "gpu0: driver_versions: 550.90.07 is not allowed" runtime.err ||
  fail "other-driver reason: $(cat runtime.err)"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
