#!/usr/bin/env bash
# examples/enterprise: departments of one company on one platform. The ML team serves a
# model over mutual TLS with the SVID its attested runtime got from the platform CA; the HR
# department's workload attests, gets its own SVID and calls the model service with it; a
# process that did not attest is refused at the TLS handshake.
# Usage: examples/enterprise/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
source "$here/../../scripts/demo_lib.sh"

say "1. The control plane; tenants for the ML team and for HR"
start_platform
for t in ml hr; do run "$crypta" tenant create "$t" "${dd[@]}"; done
run "$crypta" key create --tenant ml models "${dd[@]}"
run "$crypta" key create --tenant hr identity "${dd[@]}"
ca="$platform/tls/ca.pem"

say "2. The ML team's model, sealed, served with an SVID and mutual TLS (HR callers only)"
run "$crypta" model push --tenant ml --key models --name attrition --in "$models/tiny_cnn.onnx" \
  --tee sim "${dd[@]}" | tee push.txt
ref=$(tail -n 1 push.txt)
model_args=("$runtime" --broker "$url" --broker-ca "$ca" --model "$ref" --backend onnx
  --model-name attrition --workload inference --listen 127.0.0.1:0
  --tls svid --mtls required --allow-peer 'spiffe://crypta.local/tenant/hr/workload/*')
allow_launch ml models "${model_args[@]}"
launch_sim "${model_args[@]}"
model_measurement=$measurement

say "3. HR's workload attests in its own (simulated) TEE and receives its SVID"
hr_args=("$crypta" svid fetch --broker "$url" --broker-ca "$ca" --tenant hr --workload payroll
  --key identity --out "$work/hr")
allow_launch hr identity "${hr_args[@]}"
run "$crypta" sim launch "${dd[@]}" -- "${hr_args[@]}"
openssl x509 -in hr.pem -noout -ext subjectAltName | indent

say "4. HR calls the model service over mutual TLS, verifying it is the ML team's attested runtime"
run "$crypta" predict "$service" --model attrition --input "$models/tiny_cnn.input.npy" \
  --output result.json --ca-cert hr.bundle.pem --client-cert hr.pem --client-key hr.key \
  --expect-spiffe-id 'spiffe://crypta.local/tenant/ml/workload/inference' \
  --expect-measurement "$model_measurement" --allow-simulated "${dd[@]}"
"$python" -c 'import json; print("   outputs:", json.load(open("result.json"))["outputs"][0]["shape"])'

say "5. A process that did not attest is refused during the TLS handshake"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
  -out rogue.pem -subj /CN=rogue -days 1 2>/dev/null
for who in "no client certificate" "a self-made certificate"; do
  extra=()
  [[ $who == "a self-made certificate" ]] && extra=(--cert rogue.pem --key rogue.key)
  if curl -sk -o /dev/null "${extra[@]}" "$service/v1/attestation"; then
    echo "example: a caller with $who was served" >&2
    exit 1
  fi
  echo "   refused: $who"
done

say "Done"
stop_all
echo "SIMULATED TEE — no hardware isolation: the identities are only as strong as the TEEs."
