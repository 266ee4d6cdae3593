#!/usr/bin/env bash
# Issue 6 "Done when", end to end: `crypta up --nodes 2`, a pushed model, the seed's second
# document with tee: sim and image: crypta-runtime deployed with `crypta vm deploy -f`; it
# reaches Running, passes `crypta attest service` and answers a verified encrypted
# prediction; list/status/logs/delete; a killed workload is restarted; tee: tdx is
# Unschedulable with the reason; the seeds render for Kubernetes and QEMU; no process is
# left behind.
# Usage: deploy_e2e_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR TESTDATA_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
testdata=$(realpath "$4")
source "$(dirname "$0")/control_plane_lib.sh"
python=$(command -v /usr/bin/python3 || command -v python3)
export PATH="$(dirname "$runtime"):$PATH"

data=$work/data
mapfile -t store < <(store_args "$data")
"$crypta" up --listen 127.0.0.1:0 --nodes 2 "${store[@]}" --data-dir "$data" >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [[ -s $data/url ]] && break; sleep 0.05; done
[[ -s $data/url ]] || { echo "FAIL: crypta up wrote no url: $(cat server.log)"; exit 1; }
dd=(--data-dir "$data")

# Both node agents register.
for _ in $(seq 1 100); do
  "$crypta" node list --output json "${dd[@]}" >out.txt 2>err.txt
  [[ $(grep -c '"ready": true' out.txt) -eq 2 ]] && break
  sleep 0.1
done
expect_ok node-list "$crypta" node list "${dd[@]}"
contains node-list-1 "^node-1 +sim +"
contains node-list-2 "^node-2 +sim +"

expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name chest \
  --in "$models/tiny_cnn.onnx" "${dd[@]}"
ref=$(tail -n 1 out.txt)

# The seed's second document, with tee: sim, the built-in runtime and the model (on this
# run's own port instead of the seed's 8080: see free_port).
sed -e 's/tee: sgx/tee: sim/' -e 's|image: your-registry/ai-model:latest|image: crypta-runtime|' \
  -e "s/port: 8080/port: $(free_port)/" "$testdata/deploy/seed2.yaml" >spec.yaml
cat >>spec.yaml <<EOF
  model:
    ref: $ref
    backend: onnx
    name: chest
EOF
grep -q "tee: sim" spec.yaml || fail "could not make the sim spec from seed2.yaml"
expect_ok deploy "$crypta" vm deploy -f spec.yaml --register-measurement --wait --timeout 120 \
  "${dd[@]}"
contains deploy "deployment radiology/ai-inference-server applied"
# --wait: until Running; it says what --register-measurement added to which policy.
contains deploy-running "^deployment radiology/ai-inference-server is Running at http://127\.0\.0\.1:"
contains deploy-registered "^registered in radiology/models's release policy: measurements [0-9a-f]{96}$"
contains deploy-registered-host "^registered in radiology/models's release policy: host_data [0-9a-f]{64}$"

wait_phase() {  # wait_phase PHASE [SECONDS]: vm status until PHASE; status JSON in status.json
  for _ in $(seq 1 $((${2:-60} * 10))); do
    "$crypta" vm status ai-inference-server --output json "${dd[@]}" >status.json 2>/dev/null
    grep -q "\"phase\": \"$1\"" status.json && return 0
    sleep 0.1
  done
  fail "deployment never reached $1: $(cat status.json)"
  return 1
}
wait_phase Running
field() { "$python" -c 'import json,sys; d=json.load(open("status.json")); print(d.get(sys.argv[1]) or "")' "$1"; }
endpoint=$(field endpoint)
measurement=$(field measurement)
node=$(field node)
[[ $endpoint == http://127.0.0.1:* ]] || fail "endpoint: $endpoint"
[[ $node == node-[12] ]] || fail "node: $node"
[[ ${#measurement} -eq 96 ]] || fail "measurement: $measurement"
# Clients take the expected measurement from the control plane (signed reference values for
# the workload, verified with the JWKS): no hand-copied measurement.
expect_ok attest-by-workload "$crypta" attest service "$endpoint" --tenant radiology \
  --workload ai-inference-server --allow-simulated "${dd[@]}"
contains attest-by-workload "^measurement +$measurement$"
expect_error attest-unknown-workload "no deployment nope" \
  "$crypta" attest service "$endpoint" --tenant radiology --workload nope --allow-simulated "${dd[@]}"
grep -q '"result": "ok"' status.json || fail "no successful attestation recorded: $(cat status.json)"

# The registered measurement is in the key's policy (audited), and the service verifies.
expect_ok policy "$crypta" policy get --tenant radiology --key models "${dd[@]}"
contains policy "$measurement"
expect_ok attest "$crypta" attest service "$endpoint" --expect-measurement "$measurement" \
  --allow-simulated "${dd[@]}"
contains attest "^verified +yes"
expect_ok predict "$crypta" predict "$endpoint" --model chest --input "$models/tiny_cnn.input.npy" \
  --output result.json --expect-measurement "$measurement" --allow-simulated "${dd[@]}"
"$python" - "$models/tiny_cnn.expected.npy" <<'PY' || fail "prediction differs from torch's"
import json, sys, numpy as np
out = json.load(open("result.json"))["outputs"][0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
sys.exit(0 if np.allclose(got, np.load(sys.argv[1]), rtol=1e-3, atol=1e-4) else 1)
PY

# --register-measurement also published the launch in the release log (issue 17): a client
# requiring the log (over the control plane's TLS, key and CA from the data dir) accepts it.
expect_ok release-list "$crypta" release list "${dd[@]}"
contains release-list "^0 +[0-9TZ:-]+ +radiology +ai-inference-server +$measurement +sha256:[0-9a-f]{64}$"
expect_ok attest-published "$crypta" attest service "$endpoint" --expect-measurement "$measurement" \
  --allow-simulated "${dd[@]}" --transparency "$(cat "$data/url")" --transparency-state tlog.json
[[ $(grep -c . "$work/tlog.json" 2>/dev/null) -eq 1 ]] || fail "no transparency state remembered"
expect_ok list "$crypta" vm list "${dd[@]}"
contains list "^radiology +ai-inference-server +Running +node-[12] +http://"
expect_ok logs "$crypta" vm logs ai-inference-server "${dd[@]}"
contains logs "serving http://"

# Kill the workload: the node agent restarts it.
pid=$(field pid)
[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || fail "no workload pid in the status"
for _ in $(seq 1 300); do
  "$crypta" vm status ai-inference-server --output json "${dd[@]}" >status.json 2>/dev/null
  grep -q '"phase": "Running"' status.json && ! grep -q '"restarts": 0' status.json && break
  sleep 0.1
done
grep -q '"restarts": 0' status.json && fail "the killed workload was not restarted: $(cat status.json)"
wait_phase Running
expect_ok release-list-2 "$crypta" release list "${dd[@]}" --output json
[[ $(grep -c '"leaf_hash"' out.txt) -eq 1 ]] || fail "the restart published the release again"

# spec.mtls: the runtime serves TLS with its SVID and refuses callers without one.
sed -e 's/name: ai-inference-server/name: secure-server/' spec.yaml >mtls.yaml
cat >>mtls.yaml <<'EOF'
  mtls: required
  allowed_peers: ["spiffe://crypta.local/tenant/radiology/workload/*"]
EOF
expect_ok deploy-mtls "$crypta" vm deploy -f mtls.yaml --register-measurement "${dd[@]}"
for _ in $(seq 1 600); do
  "$crypta" vm status secure-server --output json "${dd[@]}" >mtls.json 2>/dev/null
  grep -q '"phase": "Running"' mtls.json && break
  sleep 0.1
done
grep -q '"phase": "Running"' mtls.json || fail "mtls deployment never ran: $(cat mtls.json)"
mtls_endpoint=$("$python" -c 'import json; print(json.load(open("mtls.json"))["endpoint"] or "")')
[[ $mtls_endpoint == https://127.0.0.1:* ]] || fail "mtls endpoint: $mtls_endpoint"
curl -sk -o /dev/null "$mtls_endpoint/v1/attestation" && fail "a caller without an SVID was served"
expect_ok logs-mtls "$crypta" vm logs secure-server "${dd[@]}"
contains logs-mtls "spiffe://crypta.local/tenant/radiology/workload/secure-server"
expect_ok delete-mtls "$crypta" vm delete secure-server "${dd[@]}"

# A TDX spec on sim-only nodes: Unschedulable, with the reason.
sed -e 's/tee: sim/tee: tdx/' -e 's/name: ai-inference-server/name: tdx-server/' spec.yaml >tdx.yaml
expect_error deploy-tdx-wait "deployment radiology/tdx-server is Unschedulable: no node with tee=tdx" \
  "$crypta" vm deploy -f tdx.yaml --wait --timeout 60 "${dd[@]}"
expect_ok status-tdx "$crypta" vm status tdx-server "${dd[@]}"
contains status-tdx "Unschedulable"
contains status-tdx-reason "no node with tee=tdx"

# Rendering: both seeds for Kubernetes; SEV-SNP and TDX variants for QEMU.
for seed in seed1 seed2; do
  expect_ok "k8s-$seed" "$crypta" vm deploy -f "$testdata/deploy/$seed.yaml" --target kubernetes \
    --dry-run "${dd[@]}"
  contains "k8s-$seed-kind" "^kind: Deployment"
  contains "k8s-$seed-sgx" "sgx.intel.com"
done
expect_error k8s-apply "no Kubernetes cluster is configured" \
  env PATH=/nonexistent "$crypta" vm deploy -f "$testdata/deploy/seed1.yaml" --target kubernetes
for tee in sev-snp tdx; do
  sed "s/tee: sgx/tee: $tee/" "$testdata/deploy/seed2.yaml" >"qemu-$tee.yaml"
  expect_ok "qemu-$tee" "$crypta" vm deploy -f "qemu-$tee.yaml" --target qemu --dry-run \
    --ovmf OVMF.fd --kernel vmlinuz --initrd initrd.img
done
expect_ok qemu-snp-again "$crypta" vm deploy -f qemu-sev-snp.yaml --target qemu --dry-run --ovmf OVMF.fd
contains qemu-snp "sev-snp-guest"
expect_ok qemu-tdx-again "$crypta" vm deploy -f qemu-tdx.yaml --target qemu --dry-run --ovmf OVMF.fd
contains qemu-tdx "tdx-guest"

# A validation error names file:line:column, the field and the value.
sed 's/memory: 32Gi/memory: lots/' "$testdata/deploy/seed1.yaml" >bad.yaml
expect_error bad-memory "bad.yaml:[0-9]+:[0-9]+: .*memory.*lots" \
  "$crypta" vm deploy -f bad.yaml --dry-run

# A model a deployment runs is not removed (its next restart would fail), unless forced.
expect_error rm-in-use "model radiology/chest is used by deployment\(s\) ai-inference-server" \
  "$crypta" model rm --tenant radiology --name chest "${dd[@]}"

# Delete: the workload stops and is forgotten.
runtime_pid=$(field pid)
expect_ok policy-before "$crypta" policy get --tenant radiology --key models "${dd[@]}"
grep -q "$measurement" out.txt || fail "the registered measurement is not in the policy"
expect_ok delete "$crypta" vm delete ai-inference-server "${dd[@]}"
# What --register-measurement added for it leaves the policy with it.
expect_ok policy-after "$crypta" policy get --tenant radiology --key models "${dd[@]}"
grep -q "$measurement" out.txt && fail "vm delete left the registered measurement: $(cat out.txt)"
expect_error status-deleted "no deployment" "$crypta" vm status ai-inference-server "${dd[@]}"
sleep 0.5
kill -0 "$runtime_pid" 2>/dev/null && fail "the deleted workload's process $runtime_pid still runs"

# Stopping the platform leaves no workload and no agent behind.
expect_ok deploy-again "$crypta" vm deploy -f spec.yaml --register-measurement "${dd[@]}"
wait_phase Running
endpoint_before=$(field endpoint)
stop_server
sleep 0.5
if pgrep -f "crypta-runtime --broker .*$(basename "$work")" >/dev/null ||
   pgrep -f "node run --data-dir $data" >/dev/null; then
  fail "processes left after crypta up stopped: $(pgrep -af "$data")"
fi
# Started again on the same data dir: the deployment comes back at the same endpoint (its port
# was chosen once and kept).
"$crypta" up --listen 127.0.0.1:0 --nodes 2 --data-dir "$data" >server2.log 2>&1 &
server_pid=$!
wait_phase Running 120
[[ $(field endpoint) == "$endpoint_before" ]] ||
  fail "endpoint changed across a restart: $endpoint_before -> $(field endpoint)"
stop_server
expect_ok audit "$crypta" audit verify "${dd[@]}"
finish
