#!/usr/bin/env bash
# End to end with real processes on loopback (issue 5 "Tests"):
#   crypta up → tenant, key, key-release policy for the runtime's sim measurement → model push
#   → `crypta sim launch -- crypta-runtime …` → `crypta attest service` and `crypta predict`
#   (output equal to scripts/make_models.py's expected output) → a client expecting another
#   measurement refuses to send (the runtime's /metrics shows no OHTTP request) → with
#   BACKEND=torchscript also tampered/replayed OHTTP messages, contexts that do not open
#   another client's response, and concurrent clients each getting their own results.
# Usage: predict_e2e_test.sh CRYPTA CRYPTA_RUNTIME CLIENT_E2E_PROBE MODELS_DIR BACKEND
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
probe=$(realpath "$3")
models=$(realpath "$4")
backend=$5
source "$(dirname "$0")/../control_plane_lib.sh"

use_tiny_model "$models" "$backend"


data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok token "$crypta" token create --tenant radiology --role tenant-user "${dd[@]}"
as_user=(--url "$url" --token "$(tail -n 1 out.txt)")
expect_ok push "$crypta" model push --tenant radiology --key models --name tiny_cnn \
  -f "$model_file" --signature "$models/tiny_cnn.signature.json" "${as_user[@]}"
ref=$(tail -n 1 out.txt)
[[ $ref =~ ^store://radiology/tiny_cnn@sha256:([0-9a-f]{64})$ ]] || { fail "push: $ref"; finish; }
digest=${BASH_REMATCH[1]}

# The runtime's command line; the sim measurement covers the binary and these arguments.
args=(--broker "$url" --model "$ref" --backend "$backend" --signature "$models/tiny_cnn.signature.json"
  --workload radiology-demo --listen 127.0.0.1:0 --tee sim)
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "$runtime" "${args[@]}"
measurement=$(tail -n 1 out.txt)
[[ $measurement =~ ^[0-9a-f]{96}$ ]] || { fail "sim measure: $measurement"; finish; }
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$measurement" >policy.yaml
expect_ok policy-tenant "$crypta" policy set --tenant radiology -f policy.yaml "${dd[@]}"
expect_ok policy-key "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"

launch_runtime "$data" "$runtime" "${args[@]}"
[[ -n $rurl ]] || { fail "runtime not serving: $(cat runtime.out runtime.err)"; finish; }
grep -q "SIMULATED TEE" runtime.err || fail "sim launch does not say SIMULATED TEE"

verify=(--expect-measurement "$measurement" --allow-simulated "${dd[@]}")
ohttp_count() {
  curl -sf "$rurl/metrics" |
    awk '/^crypta_runtime_http_requests_total\{/ && (/route="\/v1\/ohttp"/ || /channel="ohttp"/) {n += $NF} END {print n + 0}'
}

# 1. A client expecting another measurement refuses, and sends nothing.
before=$(ohttp_count)
expect_error wrong-measurement "refusing to send the input: service verification failed: measurement $measurement is not an expected measurement" \
  "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
  --expect-measurement "$(printf '0%.0s' $(seq 1 96))" --allow-simulated "${dd[@]}"
expect_error not-simulated "SIMULATED TEE .*not allowed" \
  "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
  --expect-measurement "$measurement"
# Another platform's sim root (a self-signed P-384 CA) does not verify this platform's nodes.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -subj /CN=other-sim-root \
  -keyout other.key -out other-root.pem -days 2 -addext basicConstraints=critical,CA:TRUE \
  >/dev/null 2>&1 || fail "openssl req"
expect_error wrong-root "sim evidence does not verify" \
  "$crypta" attest service "$rurl" --expect-measurement "$measurement" --allow-simulated \
  --sim-root other-root.pem
"$crypta" attest service "$rurl" --expect-measurement "$measurement" --allow-simulated \
  --sim-root policy.yaml >out.txt 2>err.txt && fail "a non-certificate sim root was accepted"
after=$(ohttp_count)
[[ $before == "$after" ]] || fail "OHTTP requests reached the runtime after refusals: $before -> $after"

# 2. attest service: verified claims, in both formats, and the simulated warning.
expect_ok attest-table "$crypta" attest service "$rurl" "${verify[@]}"
contains attest-table "^verified +yes$"
contains attest-table "^measurement +$measurement$"
contains attest-table "^model_digest +sha256:$digest$"
contains attest-table "^workload +radiology-demo$"
grep -q "SIMULATED TEE — no hardware isolation" err.txt || fail "attest service: no SIMULATED note"
expect_ok attest-json "$crypta" attest service "$rurl" "${verify[@]}" --output json
contains attest-json '"verified": true'
contains attest-json '"simulated": true'
contains attest-json "\"model-digest\": \"sha256:$digest\""
expect_ok attest-digest "$crypta" attest service "$rurl" "${verify[@]}" \
  --expect-model-digest "sha256:$digest"
expect_error attest-other-digest "model-digest sha256:$digest is not sha256:0000" \
  "$crypta" attest service "$rurl" "${verify[@]}" --expect-model-digest "sha256:$(printf '0%.0s' $(seq 1 64))"

# 3. predict: the decrypted prediction equals the expected output (.npy and OIP JSON input).
expect_ok predict-npy "$crypta" predict "$rurl" --model tiny_cnn \
  --input "$models/tiny_cnn.input.npy" --output pred.json "${verify[@]}"
"$probe" compare pred.json "$models/tiny_cnn.expected.npy" || fail "predict-npy output"
expect_ok predict-stdout "$crypta" predict "$rurl" --model tiny_cnn \
  --input "$models/tiny_cnn.input.npy" --input-name input "${verify[@]}"
cp out.txt pred-stdout.json
"$probe" compare pred-stdout.json "$models/tiny_cnn.expected.npy" || fail "predict stdout output"
# The same request as OIP JSON: take the request the probe's own encoder would send.
python3 - "$models/tiny_cnn.input.npy" >request.json <<'EOF' || fail "make request.json"
import ast, json, struct, sys
raw = open(sys.argv[1], "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
header = ast.literal_eval(raw[10:10 + hlen].decode("latin1"))
assert header["descr"] == "<f4" and not header["fortran_order"]
n = 1
for d in header["shape"]:
    n *= d
data = list(struct.unpack("<%df" % n, raw[10 + hlen:10 + hlen + 4 * n]))
print(json.dumps({"inputs": [{"name": "input", "shape": list(header["shape"]),
                              "datatype": "FP32", "data": data}]}))
EOF
expect_ok predict-json "$crypta" predict "$rurl" --model tiny_cnn --input request.json \
  --output pred2.json "${verify[@]}"
"$probe" compare pred2.json "$models/tiny_cnn.expected.npy" || fail "predict-json output"
expect_error predict-unknown-model "answered 404" \
  "$crypta" predict "$rurl" --model no_such_model --input request.json "${verify[@]}"

# The metric that showed no OHTTP request after the refusals does count requests.
[[ $(ohttp_count) -gt 0 ]] || fail "no OHTTP requests counted in /metrics after predictions"

# 4. SDK-level attacks and concurrency (once: they do not depend on the backend).
if [[ $backend == torchscript ]]; then
  "$probe" attacks "$rurl" "$measurement" "$data/sim/ca.pem" tiny_cnn \
    "$models/tiny_cnn.input.npy" input || fail "attacks"
  "$probe" concurrent "$rurl" "$measurement" "$data/sim/ca.pem" tiny_cnn \
    "$models/tiny_cnn.input.npy" input 8 || fail "concurrent clients"
fi

# The plaintext OIP route is not served without --allow-plaintext-infer.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data @request.json "$rurl/v2/models/tiny_cnn/infer")
[[ $code == 200 ]] && fail "plaintext inference was served"

stop_runtime
stop_server
finish
