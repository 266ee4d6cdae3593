#!/usr/bin/env bash
# Issue 12: every object `crypta vm deploy --target kubernetes --dry-run` renders validates
# against the Kubernetes JSON Schemas vendored in testdata/k8s-schema (strict: unknown fields
# are errors) — the seed's two documents and the sim-runtime spec, on every tee Kubernetes
# can host, with a plain-HTTP and an https:// control plane (CA from --broker-ca or from the
# data dir). The validator is shown to catch a misspelled field and a wrong type, and the
# CLI's one-line errors when the control plane's URL or CA cannot be found are checked.
# Offline: nothing is downloaded. Needs python3-jsonschema and python3-yaml.
# Usage: schema_test.sh CRYPTA TESTDATA_DIR
set -uo pipefail
crypta=$1
testdata=$(realpath "$2")
here=$(realpath "$(dirname "$0")")
source "$here/../control_plane_lib.sh"
python=$(command -v /usr/bin/python3 || command -v python3)
schemas=$testdata/k8s-schema
validate() { "$python" "$here/validate_manifests.py" "$schemas" "$@"; }

# A CA certificate and a data dir as `crypta up` leaves them (url, tls/ca.pem).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca \
  -keyout ca.key -out ca.pem -days 2 >/dev/null 2>&1 || { fail "openssl req"; finish; }
mkdir -p datadir/tls
printf 'https://crypta.example.internal:8443\n' >datadir/url
cp ca.pem datadir/tls/ca.pem
empty=$work/empty-data-dir
mkdir -p "$empty"

n=0
render() {  # render NAME SPEC ARGS...: renders into NAME.yaml and validates it
  local name=$1 spec=$2
  shift 2
  expect_ok "$name" "$crypta" vm deploy -f "$spec" --target kubernetes --dry-run "$@"
  cp out.txt "$name.yaml"
  validate "$name.yaml" >"$name.schema" || fail "$name: $(cat "$name.schema")"
  n=$((n + 1))
}

for seed in seed1 seed2 sim-runtime; do
  for tee in keep sim sev-snp sev tdx sgx; do
    spec=$testdata/deploy/$seed.yaml
    if [[ $tee != keep ]]; then
      sed -E "s/^( +tee:) [a-z-]+/\1 $tee/" "$spec" >"$seed-$tee.yaml"
      spec=$work/$seed-$tee.yaml
    fi
    render "$seed-$tee-plain" "$spec" --broker-url http://crypta.example.internal:8080
    render "$seed-$tee-tls" "$spec" --broker-url https://crypta.example.internal:8443 \
      --broker-ca ca.pem --namespace tenant-a
    render "$seed-$tee-datadir" "$spec" --data-dir datadir
  done
done
echo "validated $n renderings"

# The data dir's url and CA reach the manifest; the CA is in the ConfigMap and mounted.
"$python" - sim-runtime-keep-datadir.yaml ca.pem <<'EOF' || fail "data dir rendering"
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
args = container["args"]
assert args[args.index("--broker") + 1] == "https://crypta.example.internal:8443", args
assert args[args.index("--broker-ca") + 1] == "/etc/crypta/broker-ca.pem", args
assert docs["ConfigMap"]["data"]["broker-ca.pem"] == open(sys.argv[2]).read()
assert container["volumeMounts"][0]["mountPath"] == "/etc/crypta"
assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
EOF

# The validator is not a rubber stamp: a misspelled field and a wrong type are errors.
sed 's/readinessProbe:/readynessProbe:/' sim-runtime-sim-tls.yaml >typo.yaml
validate typo.yaml >typo.out && fail "a misspelled field validated"
grep -q "'readynessProbe' was unexpected" typo.out || fail "typo: $(cat typo.out)"
sed -E 's/(containerPort:) 8080/\1 "8080"/' sim-runtime-sim-tls.yaml >type.yaml
validate type.yaml >type.out && fail "a string containerPort validated"
grep -q "containerPort: '8080' is not of type 'integer'" type.out || fail "type: $(cat type.out)"
sed 's/^kind: Service/kind: Servic/' sim-runtime-sim-tls.yaml >kind.yaml
validate kind.yaml >kind.out && fail "an unknown kind validated"

# No control plane URL, or an https:// one without its CA: one line saying what to pass.
expect_error no-url "needs the control plane's URL for the workload: pass --broker-url" \
  "$crypta" vm deploy -f "$testdata/deploy/seed1.yaml" --target kubernetes --dry-run \
  --data-dir "$empty"
expect_error no-ca "is https:// and the workload needs its CA certificate: pass --broker-ca" \
  "$crypta" vm deploy -f "$testdata/deploy/seed1.yaml" --target kubernetes --dry-run \
  --data-dir "$empty" --broker-url https://crypta.example.internal:8443
expect_error not-pem "no PEM certificate" \
  "$crypta" vm deploy -f "$testdata/deploy/seed1.yaml" --target kubernetes --dry-run \
  --broker-url https://crypta.example.internal:8443 --broker-ca datadir/url
expect_error bad-scheme "want http:// or https://" \
  "$crypta" vm deploy -f "$testdata/deploy/seed1.yaml" --target kubernetes --dry-run \
  --broker-url crypta.example.internal:8443
CRYPTA_URL=http://from-env.example:8080 "$crypta" vm deploy -f "$testdata/deploy/sim-runtime.yaml" \
  --target kubernetes --dry-run >env.yaml 2>err.txt || fail "CRYPTA_URL: $(cat err.txt)"
grep -q '"http://from-env.example:8080"' env.yaml || fail "CRYPTA_URL did not reach the args"
finish
