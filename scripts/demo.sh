#!/usr/bin/env bash
# `make demo`: confidential inference end to end on one machine (DESIGN.md §3), narrated.
#   1. an embedded control plane (`crypta up`: key broker, attestation, model store, audit)
#   2. a `radiology` tenant seals and pushes an image classifier (TorchScript)
#   3. crypta-runtime starts in the SIMULATED TEE, attests, gets the model key, unseals in memory
#   4. a client verifies the runtime's attestation and sends an encrypted synthetic scan
#   5. a text model streams a generation token by token, each token decrypted as it arrives
#   6. a client expecting other code refuses to send anything; the audit log verifies
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/demo_lib.sh"

say "1. Start the control plane (TLS with its own CA; SQLite and the blob store in a temp dir)"
start_platform

say "2. A tenant for the radiology department, a key-encryption key, a user token"
run "$crypta" tenant create radiology "${dd[@]}"
run "$crypta" key create --tenant radiology models --rotate-days 90 "${dd[@]}"
use_tenant_user radiology

say "3. Seal the model on this machine and push only the sealed blob"
cp "$models/tiny_cnn.pt" chest-xray.pt
cp "$models/tiny_cnn.signature.json" chest-xray.signature.json
echo "   chest-xray.pt: a small TorchScript CNN made by scripts/make_models.py (python3-torch),"
echo "   with its signature (inputs and outputs, docs/models.md); push loads it before sealing"
push_sealed radiology models chest-xray chest-xray.pt

say "4. What code may get the key: measure the runtime launch, allow exactly that"
# No --backend or --signature: the runtime gets those pushed with the model.
runtime_args=("$runtime" --broker "$url" --broker-ca "$platform/tls/ca.pem" --model "$ref"
  --model-name chest-xray --workload radiology-inference --listen 127.0.0.1:0)
allow_launch radiology models "${runtime_args[@]}"

say "5. Launch crypta-runtime in the SIMULATED TEE: it attests, receives the key, unseals in memory"
launch_sim "${runtime_args[@]}"

say "6. The client verifies the service before sending anything"
expect=(--expect-measurement "$measurement" --allow-simulated "${dd[@]}")
run "$crypta" attest service "$service" "${expect[@]}"

say "7. An encrypted synthetic scan: only the TEE can read it, only this client can read the result"
"$python" - "$models/tiny_cnn.input.npy" "$models/tiny_cnn.expected.npy" <<'PY'
import sys, numpy as np
np.save("scan.npy", np.load(sys.argv[1])[:1])  # one 3x32x32 synthetic scan
np.save("reference.npy", np.load(sys.argv[2])[:1])
PY
run "$crypta" predict "$service" --model chest-xray --input scan.npy --output result.json \
  --receipt receipt.json "${expect[@]}"
"$python" - <<'PY'
import json, numpy as np
out = json.load(open("result.json"))["outputs"][0]
logits = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
labels = ["normal", "pneumonia", "effusion", "nodule", "cardiomegaly",
          "atelectasis", "edema", "fibrosis", "mass", "pneumothorax"]
best = int(logits.argmax())
print("   decrypted prediction: class %d (%s), logits %s"
      % (best, labels[best], np.array2string(logits[0], precision=3)))
ok = np.allclose(logits, np.load("reference.npy"), rtol=1e-4, atol=1e-5)
print("   equals plain libtorch on the same scan:", "yes" if ok else "NO")
print("   (an untrained demo model: the class means nothing; the point is who could read what)")
raise SystemExit(0 if ok else 1)
PY

say "8. The receipt the TEE signed for this prediction, verified offline (key bound into the attestation)"
run "$crypta" receipt verify receipt.json --allow-simulated "${dd[@]}"

say "9. Streamed confidential generation: a small text model answers token by token"
echo "   notes-assistant.pt: a tiny GPT-style decoder with random weights (scripts/make_models.py),"
echo "   one forward pass per token; the prompt goes sealed in chunked OHTTP, every token comes"
echo "   back in its own encrypted chunk, and the stream counts as whole only once its final"
echo "   chunk and the receipt in its trailer verify"
cp "$models/tiny_gpt.pt" notes-assistant.pt
cp "$models/tiny_gpt.signature.json" notes-assistant.signature.json
run "$crypta" key create --tenant radiology notes "${dd[@]}"
push_sealed radiology notes notes-assistant notes-assistant.pt
chest_service=$service
gen_args=("$runtime" --broker "$url" --broker-ca "$platform/tls/ca.pem" --model "$ref"
  --model-name notes-assistant --workload radiology-notes --listen 127.0.0.1:0)
allow_launch radiology notes "${gen_args[@]}"
log_name=notes launch_sim "${gen_args[@]}"
run "$crypta" generate "$service" --model notes-assistant --prompt "Patient summary:" \
  --max-tokens 32 --receipt notes-receipt.json --expect-measurement "$measurement" \
  --allow-simulated "${dd[@]}"
echo "   (random weights: the text means nothing; ctest runtime.e2e.chunked_ohttp_stream_generation"
echo "   checks it equals plain libtorch's greedy decoding of the same prompt)"
run "$crypta" receipt verify notes-receipt.json --allow-simulated "${dd[@]}" --output table
service=$chest_service

say "10. A client that expects other code refuses to send the scan"
other=$(printf 'ab%.0s' $(seq 1 48))
if "$crypta" predict "$service" --model chest-xray --input scan.npy --expect-measurement "$other" \
  --allow-simulated "${dd[@]}" 2>refused.txt; then
  echo "demo: a mismatching client sent its input" >&2
  exit 1
fi
indent refused.txt

say "11. The audit log: the key releases, and an offline check of the whole Merkle tree"
run "$crypta" audit tail -n 6 "${dd[@]}"
stop_all
run "$crypta" audit verify "${dd[@]}"

say "Done. SIMULATED TEE — no hardware isolation: on SEV-SNP, TDX or SGX the same flow runs with hardware evidence."
