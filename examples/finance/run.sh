#!/usr/bin/env bash
# examples/finance: a trading desk's signal model (ONNX) served confidentially — the model's
# weights and the desk's positions are readable only inside the attested TEE.
# Usage: examples/finance/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
source "$here/../../scripts/demo_lib.sh"

say "1. The control plane, a 'trading' tenant and its key"
start_platform
run "$crypta" tenant create trading "${dd[@]}"
run "$crypta" key create --tenant trading signals --rotate-days 30 "${dd[@]}"
use_tenant_user trading

say "2. The desk's model: an MLP exported from PyTorch to ONNX, sealed before it leaves the desk"
run "$python" "$here/make_model.py" model
push_sealed trading signals momentum model/signal.onnx

say "3. crypta-runtime (ONNX through OpenCV DNN) in the SIMULATED TEE; the policy allows that launch"
runtime_args=("$runtime" --broker "$url" --broker-ca "$platform/tls/ca.pem" --model "$ref"
  --backend onnx --model-name momentum --workload trading-signals --listen 127.0.0.1:0)
allow_launch trading signals "${runtime_args[@]}"
launch_sim "${runtime_args[@]}"

say "4. The desk verifies the service, then sends today's features encrypted"
expect=(--expect-measurement "$measurement" --allow-simulated "${dd[@]}")
run "$crypta" predict "$service" --model momentum --input model/features.npy --output signal.json \
  "${expect[@]}"
"$python" - <<'PY'
import json, numpy as np
out = json.load(open("signal.json"))["outputs"][0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
for row in got:
    print("   signal: sell %.3f  hold %.3f  buy %.3f  -> %s" % (*row, ["sell", "hold", "buy"][row.argmax()]))
ok = np.allclose(got, np.load("model/expected.npy"), rtol=1e-4, atol=1e-5)
print("   equals PyTorch on the same features:", "yes" if ok else "NO")
raise SystemExit(0 if ok else 1)
PY

say "5. Done"
stop_all
run "$crypta" audit verify "${dd[@]}"
echo "SIMULATED TEE — no hardware isolation: use SEV-SNP or TDX nodes for real positions."
