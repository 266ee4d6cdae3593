#!/usr/bin/env bash
# `crypta model push` checks what it seals (issue 12): crypta-model-check must load and run the
# file as its backend before anything is sealed; the backend and signature travel with the
# model (stored, listed, served by crypta-runtime without --backend/--signature).
#   a PyTorch state_dict → refused with the export hint; random bytes → one-line error;
#   TorchScript without --signature → refused naming --signature; a signature that does not
#   fit the model → refused; ONNX → backend inferred, signature read from the graph.
# Usage: cli_model_check_test.sh CRYPTA MODELS_DIR
set -uo pipefail
crypta=$1
models=$(realpath "$2")
source "$(dirname "$0")/control_plane_lib.sh"

data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
push=("$crypta" model push --tenant radiology --key models "${dd[@]}")

/usr/bin/python3 -c "
import torch, torchvision
torch.save(torchvision.models.resnet18(weights=None).state_dict(), 'weights.pth')
" || fail "could not make a state_dict"
expect_error state-dict "PyTorch state_dict .*torch.jit.trace or torch.onnx.export \(docs/models.md\)" \
  "${push[@]}" --name r --in weights.pth
head -c 5000 /dev/urandom >random.bin
expect_error random-bytes "not a model crypta can serve" "${push[@]}" --name r --in random.bin
expect_error random-as-torchscript "not a TorchScript archive" \
  "${push[@]}" --name r --in random.bin --backend torchscript
expect_error no-signature "does not declare its inputs and outputs: give its signature \(--signature" \
  "${push[@]}" --name r --in "$models/tiny_cnn.pt"
printf '{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,5]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,10]}]}' >wrong.json
expect_error wrong-signature "does not run on inputs shaped like its signature" \
  "${push[@]}" --name r --in "$models/tiny_cnn.pt" --signature wrong.json
expect_ok list-empty "$crypta" model list --tenant radiology --output json "${dd[@]}"
contains nothing-pushed '"models": \[\]'

expect_ok push-ts "${push[@]}" --name ts --in "$models/tiny_cnn.pt" \
  --signature "$models/tiny_cnn.signature.json"
contains push-ts-backend "torchscript\)$"
expect_ok push-onnx "${push[@]}" --name ox --in "$models/tiny_cnn.onnx"
contains push-onnx-backend "onnx\)$"
# A re-push of the same file is idempotent; a changed one is version 2.
expect_ok push-ts-again "${push[@]}" --name ts --in "$models/tiny_cnn.pt" \
  --signature "$models/tiny_cnn.signature.json"
contains push-ts-unchanged "^unchanged: the newest version of radiology/ts already holds this file$"
expect_ok push-ts-dtypes "${push[@]}" --name ts --in "$models/dtypes.pt" \
  --signature "$models/dtypes.signature.json"
expect_ok list-versions "$crypta" model list --tenant radiology "${dd[@]}"
contains list-v2 "^ts +2 +models +[0-9]+ +torchscript +6 in, 6 out "
contains list-v1 "^ts +1 +models +[0-9]+ +torchscript +1 in, 1 out "
expect_ok list "$crypta" model list --tenant radiology "${dd[@]}"
contains list-ts "^ts +[0-9]+ +models +[0-9]+ +torchscript +1 in, 1 out "
contains list-onnx "^ox +[0-9]+ +models +[0-9]+ +onnx +1 in, 1 out "
expect_ok list-json "$crypta" model list --tenant radiology --output json "${dd[@]}"
/usr/bin/python3 - out.txt <<'PY' || fail "signature in the listing"
import json, sys
models = {m["name"]: m for m in json.load(open(sys.argv[1]))["models"]}
for name in ("ts", "ox"):
    sig = models[name]["signature"]
    assert sig["inputs"][0]["name"] == "input" and sig["inputs"][0]["shape"] == [-1, 3, 32, 32], sig
    assert sig["outputs"][0]["name"] == "logits", sig
PY
finish
