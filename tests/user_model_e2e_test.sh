#!/usr/bin/env bash
# Issue 12's user path, end to end, with nothing taken from crypta's own test models: a
# torchvision ResNet-18 (random weights) made here with python3-torch, exported traced
# (TorchScript) and to ONNX; each pushed with its signature (ONNX: read from the graph),
# deployed with the seed's YAML on `crypta up --nodes 1` with `vm deploy --wait`, verified
# with reference values fetched from the control plane (no --expect-measurement), and a
# prediction compared with PyTorch's. Negative: a deployment using a model cannot lose it.
# Usage: user_model_e2e_test.sh CRYPTA CRYPTA_RUNTIME TESTDATA_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
testdata=$(realpath "$3")
source "$(dirname "$0")/control_plane_lib.sh"
seed_port=$(free_port)  # the seed's port 8080, made this run's own
python=/usr/bin/python3
export PATH="$(dirname "$runtime"):$PATH"

# The user's model, exported as the docs/models.md says.
"$python" - <<'PY' || { echo "FAIL: could not export the model"; exit 1; }
import json, numpy as np, torch, torchvision
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
x = torch.rand(1, 3, 224, 224)
torch.jit.trace(model, x).save("resnet18.pt")
torch.onnx.export(model, x, "resnet18.onnx", input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
np.save("image.npy", x.numpy())
np.save("image64.npy", x.numpy().astype(np.float64))  # NumPy's default dtype
with torch.no_grad():
    np.save("expected.npy", model(x).numpy())
json.dump({"inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 224, 224]}],
           "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 1000]}]},
          open("resnet18.signature.json", "w"))
PY

data=$work/data
mapfile -t store < <(store_args "$data")
"$crypta" up --listen 127.0.0.1:0 --nodes 1 "${store[@]}" --data-dir "$data" >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [[ -s $data/url ]] && break; sleep 0.05; done
[[ -s $data/url ]] || { echo "FAIL: crypta up wrote no url: $(cat server.log)"; exit 1; }
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"

# deploy_and_predict NAME FILE [PUSH ARGS...]
deploy_and_predict() {
  local name=$1 file=$2
  shift 2
  expect_ok "push-$name" "$crypta" model push --tenant radiology --key models --name "$name" \
    --in "$file" "$@" "${dd[@]}"
  local ref
  ref=$(tail -n 1 out.txt)
  # The seed's document as a user adapts it: the sim TEE, the built-in runtime, the model.
  # With keep_gpu=1 it keeps the seed's `gpu: 1`: the sim node's simulated GPU, attested with
  # the sim CPU (crypta-runtime --gpu-evidence sim).
  local gpu=(-e 's/gpu: 1 /gpu: 0 /')
  [[ ${keep_gpu:-0} == 1 ]] && gpu=()
  sed -e 's/tee: sgx/tee: sim/' -e 's|image: your-registry/ai-model:latest|image: crypta-runtime|' \
    -e "s/name: ai-inference-server/name: $name-server/" -e 's/cpu: 8/cpu: 1/' \
    -e "s/port: 8080/port: $seed_port/" \
    -e 's/memory: 32Gi/memory: 1Gi/' "${gpu[@]}" \
    "$testdata/deploy/seed2.yaml" >"$name.yaml"
  # With use_latest=1 the spec names store://…@latest and the control plane resolves it.
  local spec_ref=$ref
  [[ ${use_latest:-0} == 1 ]] && spec_ref=${ref%@sha256:*}@latest
  printf '  model:\n    ref: %s\n    name: resnet\n' "$spec_ref" >>"$name.yaml"
  # With inline_signature=1 the spec carries the signature (the runtime gets --signature-json).
  if [[ ${inline_signature:-0} == 1 ]]; then
    printf '    signature:\n      inputs: [{name: image, datatype: FP32, shape: [-1, 3, 224, 224]}]\n      outputs: [{name: logits, datatype: FP32, shape: [-1, 1000]}]\n' >>"$name.yaml"
  fi
  expect_ok "deploy-$name" "$crypta" vm deploy -f "$name.yaml" --register-measurement --wait \
    --timeout 240 "${dd[@]}"
  contains "deploy-$name-running" "is Running at http://127\.0\.0\.1:"
  if [[ ${inline_signature:-0} == 1 ]]; then
    pgrep -af -- "--signature-json" | grep -q -- "--workload $name-server" ||
      fail "$name: the runtime did not get the spec's inline signature"
  fi
  if [[ ${keep_gpu:-0} == 1 ]]; then
    pgrep -af -- "--gpu-evidence sim" | grep -q -- "--workload $name-server" ||
      fail "$name: the runtime of a gpu: 1 deployment does not attest its GPU"
  fi
  [[ ${use_latest:-0} == 1 ]] && contains "deploy-$name-latest" "^model ${ref%@sha256:*}@latest is $ref$"
  local endpoint
  endpoint=$(sed -n 's/.* is Running at \(http:[^ ]*\) .*/\1/p' out.txt)
  expect_ok "predict-$name" "$crypta" predict "$endpoint" --model resnet --input image.npy \
    --tenant radiology --workload "$name-server" --allow-simulated --output "$name.out.json" \
    "${dd[@]}"
  "$python" - "$name.out.json" <<'PY' || fail "$name: prediction differs from PyTorch"
import json, sys, numpy as np
out = json.load(open(sys.argv[1]))["outputs"][0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
want = np.load("expected.npy")
assert got.shape == want.shape, (got.shape, want.shape)
np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
PY
  # A float64 .npy for an FP32 model is cast, and the CLI says so.
  "$crypta" predict "$endpoint" --model resnet --input image64.npy --tenant radiology \
    --workload "$name-server" --allow-simulated --output "$name.out64.json" "${dd[@]}" \
    >out.txt 2>err.txt || fail "$name: float64 predict: $(cat err.txt)"
  grep -q "input cast from float64 to float32" err.txt || fail "$name: no cast note: $(cat err.txt)"
  cmp -s "$name.out.json" "$name.out64.json" || fail "$name: float64 input gave another answer"
  # --input - reads standard input.
  "$crypta" predict "$endpoint" --model resnet --input - --tenant radiology \
    --workload "$name-server" --allow-simulated --output "$name.stdin.json" "${dd[@]}" \
    <image.npy >out.txt 2>err.txt || fail "$name: predict from stdin: $(cat err.txt)"
  cmp -s "$name.out.json" "$name.stdin.json" || fail "$name: stdin input gave another answer"
  expect_error "rm-in-use-$name" "is used by deployment\(s\) $name-server" \
    "$crypta" model rm --tenant radiology --name "$name" "${dd[@]}"
  expect_ok "delete-$name" "$crypta" vm delete "$name-server" "${dd[@]}"
}

inline_signature=1 deploy_and_predict resnet-ts resnet18.pt --signature resnet18.signature.json
use_latest=1 keep_gpu=1 deploy_and_predict resnet-onnx resnet18.onnx

expect_ok list "$crypta" model list --tenant radiology "${dd[@]}"
contains list-ts "^resnet-ts +[0-9]+ +models +[0-9]+ +torchscript +1 in, 1 out "
contains list-onnx "^resnet-onnx +[0-9]+ +models +[0-9]+ +onnx +1 in, 1 out "
finish
