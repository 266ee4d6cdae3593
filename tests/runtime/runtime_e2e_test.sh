#!/usr/bin/env bash
# End to end, real processes on loopback: `crypta up` → tenant, key, a release policy that
# allows exactly the sim measurement `crypta sim measure` computes → `crypta model push` of
# tiny_cnn (sealed on the client) → `crypta sim launch -- crypta-runtime …` → the runtime
# attests, gets the key, unseals the model in memory and serves; runtime_e2e_client verifies
# /v1/attestation and gets the right prediction through OHTTP (replays and tampering
# refused). Then: a runtime launched with other arguments (another measurement) gets no
# key and exits 1 with a clear reason; SIGTERM to the launcher stops the runtime (exit 0).
# Usage: runtime_e2e_test.sh CRYPTA CRYPTA_RUNTIME E2E_CLIENT MODELS_DIR torchscript|onnx
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
client=$(realpath "$3")
models=$(realpath "$4")
backend=$5
source "$(dirname "$0")/../control_plane_lib.sh"

use_tiny_model "$models" "$backend"

data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name tiny_cnn \
  -f "$model_file" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
ref=$(tail -n 1 out.txt)
[[ $ref =~ ^store://radiology/tiny_cnn@sha256:[0-9a-f]{64}$ ]] || fail "push reference: $ref"

head -c 24 /dev/urandom | base64 >metrics.token
rt=("$runtime" --broker "$url" --model "$ref" --backend "$backend" --model-name tiny_cnn
  --signature "$models/tiny_cnn.signature.json" --listen 127.0.0.1:0 --threads 1
  --metrics-token-file "$work/metrics.token")
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "${rt[@]}"
measurement=$(tail -n 1 out.txt)
[[ $measurement =~ ^[0-9a-f]{96}$ ]] || fail "measurement: $measurement"
# The same runtime serving plain OIP too (benchmarks): another measurement, also allowed.
expect_ok measure-plain "$crypta" sim measure "${dd[@]}" -- "${rt[@]}" --allow-plaintext-infer
measurement_plain=$(tail -n 1 out.txt)
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\n' "$measurement" \
  "$measurement_plain" >policy.yaml
expect_ok policy "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"

# launch RUNTIME_ARGS...: starts `crypta sim launch` in the background (launch_pid), logs in
# launch.out / launch.err.
launch() {
  "$crypta" sim launch "${dd[@]}" -- "$@" >launch.out 2>launch.err &
  launch_pid=$!
}

# The happy path.
launch "${rt[@]}"
for _ in $(seq 1 600); do
  grep -q '^crypta-runtime: serving ' launch.out && break
  kill -0 "$launch_pid" 2>/dev/null || break
  sleep 0.1
done
line=$(grep '^crypta-runtime: serving ' launch.out)
if [[ $line =~ ^crypta-runtime:\ serving\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then
  rt_url=${BASH_REMATCH[1]}
else
  echo "FAIL: the runtime did not start: $(cat launch.out launch.err)"
  exit 1
fi
grep -q "SIMULATED TEE — no hardware isolation" launch.err || fail "no SIMULATED warning"


if "$client" "$rt_url" "$data/sim/ca.pem" "$measurement" tiny_cnn "$models/tiny_cnn.input.npy" \
  "$models/tiny_cnn.expected.npy" >client.txt 2>&1; then
  :
else
  fail "client checks: $(cat client.txt)"
fi
cat client.txt

# Plain OIP is not served without --allow-plaintext-infer; /metrics counts what happened.
# http METHOD BASE PATH [BODY]: status in $code, body in body.txt.
http() {
  "$client" http "$@" >http.txt || { code=000; : >body.txt; return; }
  code=$(head -n 1 http.txt)
  tail -n +2 http.txt >body.txt
}
http POST "$rt_url" /v2/models/tiny_cnn/infer '{}'
[[ $code == 404 ]] || fail "plain infer: HTTP $code, want 404"
grep -q "only through OHTTP" body.txt || fail "plain infer body: $(cat body.txt)"
http GET "$rt_url" /metrics
cp body.txt metrics.txt
grep -q 'crypta_runtime_http_requests_total{route="/v1/ohttp",channel="plain",status="200"} 9' \
  metrics.txt || fail "metrics: no /v1/ohttp 200 count: $(grep requests_total metrics.txt)"
# What clients asked inside OHTTP is theirs: one aggregate series without the token...
grep -q 'route="/v2/models[^"]*",channel="ohttp"' metrics.txt && fail "metrics show the routes inside OHTTP without the token"
grep -qE 'crypta_runtime_http_requests_total\{route="\(inside ohttp\)",channel="ohttp",status="all"\} [1-9]' \
  metrics.txt || fail "metrics: no aggregate count of the requests inside OHTTP"
# ... and per route and status with it.
/usr/bin/python3 - "$rt_url/metrics" "$(cat metrics.token)" >metrics-detail.txt <<'PY' ||
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
  fail "metrics with the token: request failed"
grep -q 'route="/v2/models/{model}/infer",channel="ohttp",status="200"} 10' metrics-detail.txt ||
  fail "metrics with the token: no inner infer count"
grep -q 'crypta_runtime_ohttp_replays_total 1' metrics.txt || fail "metrics: replay count"
grep -q 'crypta_runtime_attestation_refreshes_total{kind="fresh"} 1' metrics.txt ||
  fail "metrics: fresh attestation count"
grep -q '^crypta_runtime_inference_requests_total 10' metrics.txt || fail "metrics: batcher requests"
grep -q '^crypta_runtime_inference_batch_size_count [1-9]' metrics.txt || fail "metrics: batch sizes"
# Logs hold neither inputs nor outputs nor keys (no long numbers, no base64 blobs).
grep -qE '[0-9]\.[0-9]{5}|[A-Za-z0-9+/_-]{80}' launch.err && fail "log holds data: $(cat launch.err)"

# Issue 14: 520 connections dribbling a header (more than the 256 threads the runtime once
# had) do not stop verification and inference.
"$client" slow "${rt_url##*:}" 520 8 >slow.txt 2>&1 &
slow_pid=$!
sleep 2
if "$client" "$rt_url" "$data/sim/ca.pem" "$measurement" tiny_cnn "$models/tiny_cnn.input.npy" \
  "$models/tiny_cnn.expected.npy" >client-slow.txt 2>&1; then
  echo "ok: verified and predicted while 520 slow connections were held"
else
  fail "client checks under slow connections: $(cat client-slow.txt)"
fi
wait "$slow_pid" || fail "the slow connections were not held: $(cat slow.txt)"

kill -TERM "$launch_pid"
wait "$launch_pid"
rc=$?
[[ $rc == 0 ]] || fail "SIGTERM: launcher exit $rc, want 0 ($(cat launch.err))"
"$client" http GET "$rt_url" /v2/health/live >/dev/null && fail "the runtime still answers after SIGTERM"

if [[ $backend == torchscript ]]; then
  # --allow-plaintext-infer: the OIP routes answer in plain HTTP too.
  launch "${rt[@]}" --allow-plaintext-infer
  for _ in $(seq 1 600); do
    grep -q '^crypta-runtime: serving ' launch.out && break
    kill -0 "$launch_pid" 2>/dev/null || break
    sleep 0.1
  done
  plain_url=$(sed -n 's/^crypta-runtime: serving //p' launch.out)
  [[ -n $plain_url ]] || fail "plain runtime did not start: $(cat launch.err)"
  http GET "$plain_url" /v2/models/tiny_cnn
  grep -q '"name":"tiny_cnn"' body.txt || fail "plain metadata: $(cat body.txt)"
  http POST "$plain_url" /v2/models/tiny_cnn/infer '{}'
  [[ $code == 400 ]] && grep -q '"error"' body.txt || fail "plain bad infer: HTTP $code $(cat body.txt)"
  kill -TERM "$launch_pid"
  wait "$launch_pid" || fail "plain runtime: exit $?"

  # Another measurement (one argument differs): no key, exit 1 with a clear reason.
  launch "${rt[@]}" --max-batch 4
  wait "$launch_pid"
  rc=$?
  [[ $rc == 1 ]] || fail "unlisted measurement: exit $rc, want 1"
  grep -q '^crypta-runtime: serving' launch.out && fail "an unlisted measurement was served"
  grep -qE '^crypta-runtime: error: attestation refused by the control plane: HTTP 401: .*measurement' \
    launch.err || fail "unlisted measurement: stderr $(cat launch.err)"
  cat launch.err

  # A modified runtime binary (one byte appended: it still runs) gets no key either.
  cp "$runtime" modified-runtime
  printf 'x' >>modified-runtime
  launch "$work/modified-runtime" "${rt[@]:1}"
  wait "$launch_pid"
  rc=$?
  [[ $rc == 1 ]] || fail "modified binary: exit $rc, want 1"
  grep -qE '^crypta-runtime: error: attestation refused .*measurement' launch.err ||
    fail "modified binary: stderr $(cat launch.err)"

  # Another model (the same tenant's, pushed again: another sealed blob and reference) with
  # the allowed runtime and flags: another measurement, no key.
  expect_ok push-other "$crypta" model push --tenant radiology --key models --name other \
    --in "$models/tiny_cnn.pt" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
  other_ref=$(tail -n 1 out.txt)
  other_rt=("${rt[@]}")
  for i in "${!other_rt[@]}"; do [[ ${other_rt[i]} == "$ref" ]] && other_rt[i]=$other_ref; done
  launch "${other_rt[@]}"
  wait "$launch_pid"
  rc=$?
  [[ $rc == 1 ]] || fail "modified model: exit $rc, want 1"
  grep -qE '^crypta-runtime: error: attestation refused .*measurement' launch.err ||
    fail "modified model: stderr $(cat launch.err)"
fi

stop_server
finish
