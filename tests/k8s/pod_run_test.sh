#!/usr/bin/env bash
# Issue 12 "Kubernetes that runs": what `crypta vm deploy --target kubernetes` renders starts
# crypta-runtime. Against a real `crypta up` (TLS, its own CA), with a pushed model:
#   1. render with the data dir (broker URL from <data-dir>/url, CA from <data-dir>/tls/ca.pem);
#      the objects validate against the vendored Kubernetes schemas;
#   2. take the container's args and the ConfigMap's files out of the manifest; rewrite only
#      what a pod has and this host has not: the ConfigMap mount path becomes a temp dir holding
#      the ConfigMap's files, and the pod's 0.0.0.0 listen addresses become loopback ports
#      (tests run in parallel); the broker URL, model, CA path semantics are kept;
#   3. register the sim measurement of exactly that command line in the key-release policy,
#      run `crypta sim launch -- crypta-runtime <args>`, and check that the liveness and
#      readiness probes of the manifest (path, port) answer 200 and that the runtime serves
#      attested evidence;
#   4. the same args with another CA in the mounted file: the runtime refuses the control plane;
#   5. while the runtime boots (a broker that never answers) /healthz is 200 and /readyz 503.
# Usage: pod_run_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR TESTDATA_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
testdata=$(realpath "$4")
here=$(realpath "$(dirname "$0")")
source "$here/../control_plane_lib.sh"
python=$(command -v /usr/bin/python3 || command -v python3)


free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# http_status URL: the status code (000 when nothing answers).
http_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"; }

data=$work/data
start_server "$data" tls
[[ $url == https://* ]] || { fail "crypta up did not serve TLS: $url"; finish; }
[[ -s $data/tls/ca.pem ]] || { fail "no $data/tls/ca.pem"; finish; }
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name chest \
  --in "$models/tiny_cnn.onnx" "${dd[@]}"
ref=$(tail -n 1 out.txt)
[[ $ref == store://radiology/chest@sha256:* ]] || { fail "push: $ref"; finish; }

# 1. The sim-runtime spec with the pushed model, rendered from the data dir.
sed -e "s|ref: store://.*|ref: $ref|" -e 's/backend: torchscript/backend: onnx/' \
  -e 's/name: demo-model/name: chest/' "$testdata/deploy/sim-runtime.yaml" >spec.yaml
expect_ok render "$crypta" vm deploy -f spec.yaml --target kubernetes --dry-run "${dd[@]}"
cp out.txt manifest.yaml
grep -q "loopback address" err.txt || fail "no warning that $url is a loopback address"
"$python" "$here/validate_manifests.py" "$testdata/k8s-schema" manifest.yaml >schema.txt ||
  fail "schema: $(cat schema.txt)"

# 2. The pod's command line and mounted files, as the kubelet would set them up.
mkdir -p etc-crypta
"$python" - manifest.yaml "$work/etc-crypta" >pod.txt <<'EOF' || fail "could not read the manifest"
import os, sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
pod = docs["Deployment"]["spec"]["template"]["spec"]
container = pod["containers"][0]
mount = container["volumeMounts"][0]
volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
config_map = docs["ConfigMap"]
assert volume["configMap"]["name"] == config_map["metadata"]["name"], "volume is not the ConfigMap"
assert mount["readOnly"] is True, "the ConfigMap is not mounted read-only"
for key, value in config_map["data"].items():   # what the kubelet writes into the volume
    with open(os.path.join(sys.argv[2], key), "w") as f:
        f.write(value)
print("mount", mount["mountPath"])
print("liveness", container["livenessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["port"])
print("readiness", container["readinessProbe"]["httpGet"]["path"], container["readinessProbe"]["httpGet"]["port"])
for arg in container["args"]:
    print("arg", arg)
EOF
mount_path=$(awk '$1 == "mount" {print $2}' pod.txt)
read -r _ live_path probe_port < <(grep '^liveness ' pod.txt)
read -r _ ready_path ready_port < <(grep '^readiness ' pod.txt)
[[ $live_path == /healthz && $ready_path == /readyz && $probe_port == "$ready_port" ]] ||
  fail "probes: $(grep -E '^(liveness|readiness)' pod.txt)"
cmp -s etc-crypta/broker-ca.pem "$data/tls/ca.pem" || fail "the ConfigMap's broker-ca.pem is not $data/tls/ca.pem"

health_port=$(free_port)
args=()
while IFS= read -r line; do
  arg=${line#arg }
  case $arg in
    "$mount_path"/*) arg=$work/etc-crypta/${arg#"$mount_path"/} ;;  # the mounted ConfigMap
    0.0.0.0:"$probe_port") arg=127.0.0.1:$health_port ;;          # --health-listen
    0.0.0.0:*) arg=127.0.0.1:0 ;;                                  # --listen
  esac
  args+=("$arg")
done < <(grep '^arg ' pod.txt)
printf '%s\n' "${args[@]}" >args.txt
grep -qx -- "--broker" args.txt && grep -qx -- "$url" args.txt || fail "args lack --broker $url"
grep -qx -- "--broker-ca" args.txt && grep -qx -- "$work/etc-crypta/broker-ca.pem" args.txt ||
  fail "args lack --broker-ca at the mount: $(cat args.txt)"

# 3. The key-release policy admits this command line's sim measurement.
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "$runtime" "${args[@]}"
measurement=$(tail -n 1 out.txt)
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$measurement" >policy.yaml
expect_ok policy-tenant "$crypta" policy set --tenant radiology -f policy.yaml "${dd[@]}"
expect_ok policy-key "$crypta" policy set --tenant radiology --key models -f policy.yaml "${dd[@]}"

"$crypta" sim launch "${dd[@]}" -- "$runtime" "${args[@]}" >runtime.out 2>runtime.err &
launcher_pid=$!
ready=
for _ in $(seq 1 600); do
  [[ $(http_status "http://127.0.0.1:$health_port$ready_path") == 200 ]] && { ready=1; break; }
  kill -0 "$launcher_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $ready ]] || { fail "readiness probe never 200: $(cat runtime.out runtime.err)"; finish; }
live=$(curl -s -m 5 "http://127.0.0.1:$health_port$live_path")
[[ $live == '{"status":"ok"}' ]] || fail "liveness probe body: $live"
[[ $(http_status "http://127.0.0.1:$health_port/v1/attestation") == 404 ]] ||
  fail "the health port serves more than the probes"
rurl=$(sed -n 's|^crypta-runtime: serving \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' runtime.out)
[[ -n $rurl ]] || fail "no serving line: $(cat runtime.out)"
[[ $(http_status "$rurl/healthz") == 200 && $(http_status "$rurl/readyz") == 200 ]] ||
  fail "the main listener's /healthz or /readyz is not 200"
expect_ok attest "$crypta" attest service "$rurl" --expect-measurement "$measurement" \
  --allow-simulated "${dd[@]}"
contains attest "^verified +yes"
stop_runtime

# 4. Another CA in the mounted file: the control plane is not trusted, nothing is served.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca \
  -keyout other.key -out etc-crypta/broker-ca.pem -days 2 >/dev/null 2>&1 || fail "openssl req"
"$crypta" sim launch "${dd[@]}" -- "$runtime" "${args[@]}" >other.out 2>other.err
rc=$?
[[ $rc -ne 0 ]] || fail "the runtime started with another CA as --broker-ca"
grep -q "serving" other.out && fail "the runtime served with another CA"
grep -q "crypta-runtime: error: .*SSLServerVerification" other.err ||
  fail "no certificate verification error with another CA: $(cat other.err)"

# 5. Booting (a control plane that accepts and never answers): alive, not ready.
silent_port_file=$work/silent.port
"$python" - "$silent_port_file" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
end = time.time() + 60
s.settimeout(1)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
EOF
silent_pid=$!
for _ in $(seq 1 100); do [[ -s $silent_port_file ]] && break; sleep 0.05; done
boot_health=$(free_port)
"$runtime" --broker "http://127.0.0.1:$(cat "$silent_port_file")" --model "$ref" --backend onnx \
  --tee sim --sim-socket "$work/no.sock" --listen 127.0.0.1:0 \
  --health-listen "127.0.0.1:$boot_health" >boot.out 2>boot.err &
boot_pid=$!
live=000
for _ in $(seq 1 100); do
  live=$(http_status "http://127.0.0.1:$boot_health/healthz")
  [[ $live == 200 ]] && break
  sleep 0.05
done
[[ $live == 200 ]] || fail "/healthz while booting: $live ($(cat boot.err))"
[[ $(http_status "http://127.0.0.1:$boot_health/readyz") == 503 ]] || fail "/readyz while booting is not 503"
kill "$boot_pid" "$silent_pid" 2>/dev/null
wait "$boot_pid" "$silent_pid" 2>/dev/null

stop_server
finish
