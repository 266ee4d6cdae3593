#!/usr/bin/env bash
# Issue 15: workloads outlive the control plane. Two `crypta up` replicas on one PostgreSQL
# store (ctest's fixture; CRYPTA_TEST_PG_STATE), replica A started with --nodes 1
# --keep-nodes. A deployment runs; every replica is stopped; the workload keeps answering
# verified predictions; A comes back (reattaching to its node agent, endpoint unchanged) and
# so does a separately started agent (`crypta node run --control-plane A,B`) that failed over
# to replica B while A was down.
# Usage: ha_workloads_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
source "$(dirname "$0")/control_plane_lib.sh"
python=$(command -v /usr/bin/python3 || command -v python3)
export PATH="$(dirname "$runtime"):$PATH"
[[ -n ${CRYPTA_TEST_PG_STATE:-} ]] || { echo "FAIL: needs CRYPTA_TEST_PG_STATE (run through ctest)"; exit 1; }

a=$work/a b=$work/b
agent_pids=()
stop_all() {
  for p in "${agent_pids[@]}"; do kill "$p" 2>/dev/null; done
  [[ -f $a/nodes/node-1/agent.pid ]] && kill "$(cat "$a/nodes/node-1/agent.pid")" 2>/dev/null
  [[ -n ${b_pid:-} ]] && kill "$b_pid" 2>/dev/null
  pkill -f "node run --data-dir $a " 2>/dev/null
  sleep 1
  pkill -f "crypta-runtime.*$(basename "$work")" 2>/dev/null
}
trap 'stop_all; cleanup' EXIT

wait_url() {  # wait_url DATA_DIR LOG
  for _ in $(seq 1 200); do [[ -s $1/url ]] && return 0; sleep 0.05; done
  echo "FAIL: no $1/url: $(cat "$2")"; exit 1
}
# wait_nodes SINCE: both nodes ready, each having reported at or after unix time SINCE.
wait_nodes() {
  for _ in $(seq 1 150); do
    "$crypta" node list --output json "${da[@]}" >out.txt 2>/dev/null
    "$python" - "$1" <<'PY' && return 0
import json, sys
nodes = json.load(open("out.txt"))
nodes = nodes["nodes"] if isinstance(nodes, dict) else nodes
sys.exit(0 if len(nodes) == 2 and all(n["ready"] and n["last_seen"] >= int(sys.argv[1])
                                      for n in nodes) else 1)
PY
    sleep 0.2
  done
  return 1
}
mapfile -t store < <(store_args "$a")
"$crypta" up --listen 127.0.0.1:0 --insecure-http --nodes 1 --keep-nodes "${store[@]}" \
  --data-dir "$a" >a.log 2>&1 &
server_pid=$!
wait_url "$a" a.log
url_a=$(cat "$a/url")
mkdir -m 700 "$b" && cp -a "$a"/{root.key,ear-signing.pem,admin.token,store.url,sim,tls} "$b"/
"$crypta" up --listen 127.0.0.1:0 --insecure-http --data-dir "$b" >b.log 2>&1 &
b_pid=$!
wait_url "$b" b.log
url_b=$(cat "$b/url")
da=(--data-dir "$a")

# A second node, run on its own against both replicas.
CRYPTA_TOKEN=$(cat "$a/admin.token") "$crypta" node run --data-dir "$a" --name edge-1 \
  --control-plane "$url_a,$url_b" --cpu 1 --memory 1000000000 >edge.log 2>&1 &
agent_pids+=($!)
wait_nodes 0 || fail "nodes did not register: $(cat out.txt)"

expect_ok tenant "$crypta" tenant create radiology "${da[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${da[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name chest \
  --in "$models/tiny_cnn.onnx" "${da[@]}"
ref=$(tail -n 1 out.txt)
cat >spec.yaml <<EOF
kind: VirtualMachine
metadata:
  name: scanner
spec:
  requirements:
    tee: sim
    resources:
      cpu: 1
      memory: 1Gi
  image: crypta-runtime
  model:
    ref: $ref
    backend: onnx
    name: chest
EOF
# Through replica B: the deployment is scheduled by whichever replica leads.
expect_ok deploy "$crypta" vm deploy -f spec.yaml --register-measurement --wait --timeout 120 \
  --url "$url_b" --token "$(cat "$a/admin.token")"
"$crypta" vm status scanner --output json "${da[@]}" >status.json
field() { "$python" -c 'import json,sys; d=json.load(open("status.json")); print(d.get(sys.argv[1]) or "")' "$1"; }
endpoint=$(field endpoint)
measurement=$(field measurement)
[[ $endpoint == http://127.0.0.1:* ]] || fail "endpoint: $endpoint"

predict() {
  "$crypta" predict "$endpoint" --model chest --input "$models/tiny_cnn.input.npy" \
    --output result.json --expect-measurement "$measurement" --allow-simulated "${da[@]}"
}
expect_ok predict-before predict

# Every replica stops. The workload keeps serving verified predictions.
kill "$server_pid"; wait "$server_pid" || fail "replica A exit status $?"
kill "$b_pid"; wait "$b_pid" || fail "replica B exit status $?"
server_pid= b_pid=
kill -0 "$(cat "$a/nodes/node-1/agent.pid")" 2>/dev/null || fail "the kept node agent stopped with crypta up"
sleep 2
expect_ok predict-without-control-plane predict
"$python" - "$models/tiny_cnn.expected.npy" <<'PY' || fail "prediction differs from torch's"
import json, sys, numpy as np
out = json.load(open("result.json"))["outputs"][0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
sys.exit(0 if np.allclose(got, np.load(sys.argv[1]), rtol=1e-3, atol=1e-4) else 1)
PY

restarted=$(date +%s)
# Replica B comes back first: the separately run agent fails over to it.
"$crypta" up --listen "${url_b#http://}" --insecure-http --data-dir "$b" >b2.log 2>&1 &
b_pid=$!
wait_url "$b" b2.log
# Replica A comes back on its old port, reattaching to its node agent (not a new one).
agent=$(cat "$a/nodes/node-1/agent.pid")
rm -f "$a/url"
"$crypta" up --listen "${url_a#http://}" --insecure-http --nodes 1 --keep-nodes --data-dir "$a" \
  >a2.log 2>&1 &
server_pid=$!
wait_url "$a" a2.log
grep -q "reattached to local sim node node-1 (pid $agent" a2.log || fail "A did not reattach: $(cat a2.log)"
[[ $(cat "$a/nodes/node-1/agent.pid") == "$agent" ]] || fail "a second node agent was started"
# Both nodes report again (their heartbeats reach a replica), the deployment is still Running
# at the same endpoint, and it still serves.
wait_nodes "$restarted" || fail "nodes did not report to the restarted replicas: $(cat out.txt)"
"$crypta" vm status scanner --output json "${da[@]}" >status.json
[[ $(field phase) == Running ]] || fail "phase after the restart: $(cat status.json)"
[[ $(field endpoint) == "$endpoint" ]] || fail "endpoint changed: $endpoint -> $(field endpoint)"
expect_ok predict-after predict
finish
