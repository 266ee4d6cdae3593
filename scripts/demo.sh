#!/usr/bin/env bash
# `make demo`: confidential inference end to end on one machine (DESIGN.md §3), narrated.
#   1. an embedded control plane (`crypta up`: key broker, attestation, model store, audit)
#   2. a `radiology` tenant seals and pushes an image classifier (TorchScript)
#   3. crypta-runtime starts in the SIMULATED TEE, attests, gets the model key, unseals in memory
#   4. a client verifies the runtime's attestation and sends an encrypted synthetic scan
#   5. a client expecting other code refuses to send anything; the audit log verifies
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
crypta="$build/bin/crypta"
runtime="$build/bin/crypta-runtime"
models="$build/models"
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

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "${*//$work\//}"; "$@"; }
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

say "1. Start the control plane (TLS with its own CA; SQLite and the blob store in a temp dir)"
platform="$work/platform"
"$crypta" up --listen 127.0.0.1:0 --data-dir "$platform" >up.log 2>&1 &
pids+=($!)
wait_for up.log "admin.token|listening"
wait_for up.log "no hardware isolation"
sed 's/^/   /' up.log
dd=(--data-dir "$platform")
url=$(cat "$platform/url")

say "2. A tenant for the radiology department, a key-encryption key, a user token"
run "$crypta" tenant create radiology "${dd[@]}"
run "$crypta" key create --tenant radiology models --rotate-days 90 "${dd[@]}"
run "$crypta" token create --tenant radiology --role tenant-user "${dd[@]}" >token.txt
echo "   (a tenant-user token was printed once; the demo keeps it in a file)"
# The tenant user works through the environment (the token stays off the command line).
export CRYPTA_URL=$url CRYPTA_CA_CERT=$platform/tls/ca.pem CRYPTA_TOKEN=$(tail -n 1 token.txt)

say "3. Seal the model on this machine and push only the sealed blob"
cp "$models/tiny_cnn.pt" chest-xray.pt
echo "   chest-xray.pt: a small TorchScript CNN made by scripts/make_models.py (python3-torch)"
run "$crypta" model push --tenant radiology --key models --name chest-xray --in chest-xray.pt \
  --tee sim | tee push.txt
ref=$(tail -n 1 push.txt)
digest=${ref##*sha256:}
blob="$platform/blobs/sha256/${digest:0:2}/$digest"
if cmp -s chest-xray.pt "$blob"; then echo "demo: the store holds plaintext" >&2; exit 1; fi
echo "   the control plane stores ciphertext only ($(stat -c %s "$blob") bytes at blobs/sha256/${digest:0:2}/…)"

say "4. What code may get the key: measure the runtime launch, allow exactly that"
runtime_args=("$runtime" --broker "$url" --broker-ca "$platform/tls/ca.pem" --model "$ref"
  --backend torchscript --model-name chest-xray --signature "$models/tiny_cnn.signature.json"
  --workload radiology-inference --listen 127.0.0.1:0)
measurement=$("$crypta" sim measure -- "${runtime_args[@]}")
echo "   measurement (SHA-384 of the runtime binary, its arguments and the model reference):"
echo "   $measurement"
printf 'tee: [sim]\nallow_simulated: true   # demo only: the sim TEE gives no isolation\nallow_debug: false\nmeasurements: [%s]\n' \
  "$measurement" >policy.yaml
sed 's/^/   /' policy.yaml
run "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"

say "5. Launch crypta-runtime in the SIMULATED TEE: it attests, receives the key, unseals in memory"
"$crypta" sim launch "${dd[@]}" -- "${runtime_args[@]}" >runtime.out 2>runtime.err &
pids+=($!)
wait_for runtime.out "serving http://"
sed 's/^/   /' runtime.err
service=$(sed -n 's/^crypta-runtime: serving \(http:[^ ]*\).*/\1/p' runtime.out)
echo "   serving at $service"

say "6. The client verifies the service before sending anything"
expect=(--expect-measurement "$measurement" --allow-simulated "${dd[@]}")
run "$crypta" attest service "$service" "${expect[@]}"

say "7. An encrypted synthetic scan: only the TEE can read it, only this client can read the result"
"$(command -v /usr/bin/python3 || command -v python3)" - "$models/tiny_cnn.input.npy" "$models/tiny_cnn.expected.npy" <<'PY'
import sys, numpy as np
x = np.load(sys.argv[1])[:1]          # one 3x32x32 synthetic scan
np.save("scan.npy", x)
np.save("reference.npy", np.load(sys.argv[2])[:1])
PY
run "$crypta" predict "$service" --model chest-xray --input scan.npy --output result.json "${expect[@]}"
"$(command -v /usr/bin/python3 || command -v python3)" - <<'PY'
import json, numpy as np
out = json.load(open("result.json"))["outputs"][0]
logits = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
ref = np.load("reference.npy")
labels = ["normal", "pneumonia", "effusion", "nodule", "cardiomegaly",
          "atelectasis", "edema", "fibrosis", "mass", "pneumothorax"]
print("   decrypted prediction: class %d (%s), logits %s" % (
    int(logits.argmax()), labels[int(logits.argmax())], np.array2string(logits[0], precision=3)))
ok = np.allclose(logits, ref, rtol=1e-4, atol=1e-5)
print("   equals plain libtorch on the same scan:", "yes" if ok else "NO")
print("   (an untrained demo model: the class means nothing; the point is who could read what)")
raise SystemExit(0 if ok else 1)
PY

say "8. A client that expects other code refuses to send the scan"
other=$(printf 'ab%.0s' $(seq 1 48))
if "$crypta" predict "$service" --model chest-xray --input scan.npy --expect-measurement "$other" \
  --allow-simulated "${dd[@]}" 2>refused.txt; then
  echo "demo: a mismatching client sent its input" >&2
  exit 1
fi
sed 's/^/   /' refused.txt

say "9. The audit log: the key release, and an offline check of the whole Merkle tree"
run "$crypta" audit tail -n 6 "${dd[@]}"
kill "${pids[1]}" "${pids[0]}"
wait "${pids[1]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
pids=()
run "$crypta" audit verify "${dd[@]}"

say "Done. SIMULATED TEE — no hardware isolation: on SEV-SNP, TDX or SGX the same flow runs with hardware evidence."
