#!/usr/bin/env bash
# Signed inference receipts end to end (issue 17), real processes on loopback: `crypta up`, a
# sealed tiny_cnn, crypta-runtime under `crypta sim launch` (Ed25519 receipts, then P-256);
# `crypta predict --receipt FILE` verifies the receipt inside the encrypted response and
# writes the bundle; `crypta receipt verify` checks it offline; a flipped byte of the
# receipt, the request, the response or the attestation evidence, and a receipt key the
# evidence does not bind, each fail with one line naming the check.
# Usage: receipt_e2e_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
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
[[ $ref =~ ^store://radiology/tiny_cnn@sha256:[0-9a-f]{64}$ ]] || fail "push reference: $ref"

rt=("$runtime" --broker "$url" --model "$ref" --backend torchscript --model-name tiny_cnn
  --listen 127.0.0.1:0 --threads 1)
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "${rt[@]}"
m_ed=$(tail -n 1 out.txt)
expect_ok measure-p256 "$crypta" sim measure "${dd[@]}" -- "${rt[@]}" --receipt-alg p256
m_p256=$(tail -n 1 out.txt)
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\n' "$m_ed" "$m_p256" >policy.yaml
expect_ok policy "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"

# predict NAME MEASUREMENT BUNDLE: a verified prediction with its receipt written to BUNDLE.
predict() {
  expect_ok "$1" "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
    --allow-simulated "${dd[@]}" --expect-measurement "$2" --receipt "$3"
  [[ -s $3 ]] || fail "$1: no receipt bundle written"
}
verify_ok() {
  expect_ok "verify $1" "$crypta" receipt verify "$1" --allow-simulated "${dd[@]}"
  contains "verify $1" '"verified": true'
}

launch_runtime "$data" "${rt[@]}"
[[ -n $rurl ]] || { echo "FAIL: the runtime did not start: $(cat runtime.err)"; exit 1; }
predict predict-1 "$m_ed" one.json
predict predict-2 "$m_ed" two.json
verify_ok one.json
contains "verify one.json" "\"measurement\": \"$m_ed\""
contains "verify one.json" '"alg": "EdDSA"'
contains "verify one.json" "\"model_digest\": \"sha256:${ref##*sha256:}\""
seq1=$(sed -n 's/.*"sequence": \([0-9]*\).*/\1/p' out.txt)
verify_ok two.json
seq2=$(sed -n 's/.*"sequence": \([0-9]*\).*/\1/p' out.txt)
[[ -n $seq1 && -n $seq2 && $seq2 -gt $seq1 ]] || fail "sequence: $seq1 then $seq2"
# Chunked OHTTP (issue 18): the same prediction sent as message/ohttp-chunked-req in 16 KiB
# chunks; the answer is the model's, and its receipt covers the chunked request as sent.
expect_ok predict-chunked "$crypta" predict "$rurl" --model tiny_cnn \
  --input "$models/tiny_cnn.input.npy" --allow-simulated "${dd[@]}" --expect-measurement "$m_ed" \
  --receipt chunked.json --ohttp-chunked-above 1 --output chunked-result.json
/usr/bin/python3 - "$models/tiny_cnn.expected.npy" <<'PY' || fail "chunked prediction differs from torch's"
import json, sys, numpy as np
out = json.load(open("chunked-result.json"))["outputs"][0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
sys.exit(0 if np.allclose(got, np.load(sys.argv[1]), rtol=1e-3, atol=1e-4) else 1)
PY
verify_ok chunked.json
# The simulated TEE only when asked for, with the sim root.
expect_error sim-refused "SIMULATED" "$crypta" receipt verify one.json "${dd[@]}"
stop_runtime

# flip BUNDLE OUT WHAT: one changed thing (python3: JSON and base64 in the standard library).
flip() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
src, out, what = sys.argv[1:4]
b = json.load(open(src))
def flip_b64(field, i):
    raw = bytearray(base64.b64decode(b[field]))
    raw[i % len(raw)] ^= 1
    b[field] = base64.b64encode(bytes(raw)).decode()
if what == "receipt-signature":
    r = b["receipt"]
    b["receipt"] = r[:-3] + ("A" if r[-3] != "A" else "B") + r[-2:]
elif what == "receipt-payload":
    h, p, s = b["receipt"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["sequence"] += 1
    p = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
    b["receipt"] = ".".join([h, p, s])
elif what == "request":
    flip_b64("request_b64", 1000)
elif what == "request-last":
    flip_b64("request_b64", -1)
elif what == "response":
    flip_b64("response_b64", 7)
elif what == "evidence":
    e = b["attestation"]["evidence"]
    i = len(e) // 2
    b["attestation"]["evidence"] = e[:i] + chr(ord(e[i]) ^ 1) + e[i + 1:]
elif what == "receipt-key":
    # Another Ed25519 key (RFC 8032 test 1's public key) in place of the attested one.
    b["attestation"]["runtime_data"]["receipt-key"] = {
        "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
json.dump(b, open(out, "w"))
PY
}
for what in receipt-signature receipt-payload request request-last response evidence receipt-key; do
  flip one.json "bad-$what.json" "$what" || fail "flip $what"
done
v=(receipt verify --allow-simulated "${dd[@]}")
expect_error flip-signature 'receipt: signature does not verify' "$crypta" "${v[@]}" bad-receipt-signature.json
expect_error flip-payload 'receipt: signature does not verify' "$crypta" "${v[@]}" bad-receipt-payload.json
expect_error flip-request 'receipt: request_digest does not match' "$crypta" "${v[@]}" bad-request.json
expect_error flip-request-last 'receipt: request_digest does not match' "$crypta" "${v[@]}" bad-request-last.json
expect_error flip-response 'receipt: response_digest does not match' "$crypta" "${v[@]}" bad-response.json
# (a byte the sim verifier ignores, e.g. in the chain's copy of the pinned root, is still
# caught by the receipt's attestation_digest)
expect_error flip-evidence 'attestation: sim evidence does not verify|receipt: attestation_digest does not match' \
  "$crypta" "${v[@]}" bad-evidence.json
expect_error unbound-key 'attestation: report_data does not bind' "$crypta" "${v[@]}" bad-receipt-key.json
# A bundle of another prediction's receipt with this prediction's request: refused.
/usr/bin/python3 - one.json two.json mixed.json <<'PY' || fail "mix"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a["receipt"] = b["receipt"]
json.dump(a, open(sys.argv[3], "w"))
PY
expect_error mixed 'receipt: request_digest does not match' "$crypta" "${v[@]}" mixed.json

# P-256 (ES256) receipts.
launch_runtime "$data" "${rt[@]}" --receipt-alg p256
[[ -n $rurl ]] || { echo "FAIL: the p256 runtime did not start: $(cat runtime.err)"; exit 1; }
predict predict-p256 "$m_p256" p256.json
verify_ok p256.json
contains "verify p256.json" '"alg": "ES256"'
flip p256.json bad-p256.json request || fail "flip p256"
expect_error flip-p256 'receipt: request_digest does not match' "$crypta" "${v[@]}" bad-p256.json
stop_runtime

stop_server
finish
