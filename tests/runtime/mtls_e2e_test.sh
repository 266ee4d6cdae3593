#!/usr/bin/env bash
# Workload identity and TLS end to end (issue 7), real processes on loopback:
#   crypta up → model push → policy → `crypta sim launch -- crypta-runtime --tls svid
#   --mtls required --allow-peer 'spiffe://crypta.local/tenant/hr/workload/*'`
#   → `openssl verify -CAfile bundle.pem` accepts the served SVID chain;
#   → an "hr" workload (mtls_e2e_helper under `crypta sim launch`) attests and gets a client
#     SVID; curl with it reaches /v1/attestation, without a client certificate it is refused,
#     with a certificate of another trust domain (own CA) it is refused, and after
#     `POST /v1/tenants/hr/workloads/<w>/revoke` the revoked workload's SVID is refused;
#   → rotation under load: a client keeps calling (new connection each call, bundle
#     refetched) while the runtime renews its SVID at least three times and the control
#     plane rotates its CA once: zero failed calls;
#   → attested TLS: `crypta attest service https://…` verifies a runtime started with
#     --tls attested, and refuses it when expecting another measurement.
# Usage: mtls_e2e_test.sh CRYPTA CRYPTA_RUNTIME MTLS_E2E_HELPER MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
helper=$(realpath "$3")
models=$(realpath "$4")
source "$(dirname "$0")/../control_plane_lib.sh"

for f in "$models/tiny_cnn.pt" "$models/tiny_cnn.signature.json"; do
  [[ -f $f ]] || { echo "FAIL: missing test model file $f (build crypta_test_models)"; exit 1; }
done

launch_pid=
stop_runtime() {
  if [[ -n $launch_pid ]]; then
    kill -TERM "$launch_pid" 2>/dev/null
    wait "$launch_pid" 2>/dev/null
    launch_pid=
  fi
}
trap 'stop_runtime; cleanup' EXIT

data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
admin=(-H "Authorization: Bearer $(cat "$data/admin.token")")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name tiny_cnn \
  -f "$models/tiny_cnn.pt" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
ref=$(tail -n 1 out.txt)
[[ $ref =~ ^store://radiology/tiny_cnn@sha256:[0-9a-f]{64}$ ]] || { fail "push: $ref"; finish; }
expect_ok tenant-hr "$crypta" tenant create hr "${dd[@]}"
expect_ok key-hr "$crypta" key create --tenant hr hr-key "${dd[@]}"

base=("$runtime" --broker "$url" --model "$ref" --backend torchscript --model-name tiny_cnn
  --signature "$models/tiny_cnn.signature.json" --workload radiology-model
  --listen 127.0.0.1:0 --threads 1 --tee sim)
# SVID renewal after 0.2% of its hour (~7 s); trust bundle and CRL refreshed every second.
rt_svid=("${base[@]}" --tls svid --mtls required
  --allow-peer 'spiffe://crypta.local/tenant/hr/workload/*' --svid-renew-fraction 0.002
  --pki-refresh-s 1)
rt_att=("${base[@]}" --tls attested)
measure() {
  "$crypta" sim measure "${dd[@]}" -- "$@" >out.txt 2>err.txt || fail "sim measure: $(cat err.txt)"
  tail -n 1 out.txt
}
m_svid=$(measure "${rt_svid[@]}")
m_att=$(measure "${rt_att[@]}")
issue_caller=("$helper" issue "$url" hr caller hr-key "$work/caller")
issue_revoked=("$helper" issue "$url" hr revoked-caller hr-key "$work/revoked")
m_caller=$(measure "${issue_caller[@]}")
m_revoked=$(measure "${issue_revoked[@]}")
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\n' "$m_svid" "$m_att" >rt.yaml
expect_ok policy "$crypta" policy set --tenant radiology --key models -f rt.yaml "${dd[@]}"
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s, %s]\n' "$m_caller" "$m_revoked" \
  >hr.yaml
expect_ok policy-hr "$crypta" policy set --tenant hr --key hr-key -f hr.yaml "${dd[@]}"

# launch ARGS...: `crypta sim launch` in the background; sets rt_hostport from the
# "serving https://HOST:PORT" line.
launch() {
  "$crypta" sim launch "${dd[@]}" -- "$@" >launch.out 2>launch.err &
  launch_pid=$!
  rt_hostport=
  for _ in $(seq 1 600); do
    rt_hostport=$(sed -n 's|^crypta-runtime: serving https://\(127\.0\.0\.1:[0-9]*\)$|\1|p' launch.out)
    [[ -n $rt_hostport ]] && break
    kill -0 "$launch_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $rt_hostport ]] || { echo "FAIL: runtime not serving: $(cat launch.out launch.err)"; exit 1; }
}

# Client SVIDs for two attested hr workloads.
"$crypta" sim launch "${dd[@]}" -- "${issue_caller[@]}" >issue.out 2>&1 ||
  fail "issue caller SVID: $(cat issue.out)"
"$crypta" sim launch "${dd[@]}" -- "${issue_revoked[@]}" >issue.out 2>&1 ||
  fail "issue revoked-caller SVID: $(cat issue.out)"
[[ -s caller.pem && -s caller.key && -s revoked.pem ]] || { fail "no client SVIDs"; finish; }
curl -sf "$url/v1/pki/bundle" >bundle.pem || fail "GET /v1/pki/bundle"
openssl x509 -in caller.pem -noout -ext subjectAltName | grep -q 'URI:spiffe://crypta.local/tenant/hr/workload/caller' ||
  fail "client SVID SAN: $(openssl x509 -in caller.pem -noout -ext subjectAltName)"

# served_chain FILE_PREFIX: the runtime's certificates (s_client -showcerts), leaf in
# PREFIX.leaf.pem, the rest in PREFIX.chain.pem.
served_chain() {
  openssl s_client -connect "$rt_hostport" -showcerts -cert caller.pem -cert_chain caller.pem \
    -key caller.key \
    </dev/null 2>/dev/null >"$1.txt"
  awk -v leaf="$1.leaf.pem" -v rest="$1.chain.pem" '
    /-----BEGIN CERTIFICATE-----/ {n++; on=1}
    on {print > (n == 1 ? leaf : rest)}
    /-----END CERTIFICATE-----/ {on=0}' "$1.txt"
  [[ -s $1.leaf.pem && -s $1.chain.pem ]] || fail "s_client -showcerts: no chain ($(head -c 400 "$1.txt"))"
}

# 1. The runtime serves its SVID: openssl verify accepts the chain against the bundle.
launch "${rt_svid[@]}"
served_chain served
openssl verify -CAfile bundle.pem -untrusted served.chain.pem served.leaf.pem >verify.txt 2>&1 ||
  fail "openssl verify of the served SVID: $(cat verify.txt)"
openssl x509 -in served.leaf.pem -noout -ext subjectAltName |
  grep -q 'URI:spiffe://crypta.local/tenant/radiology/workload/radiology-model' ||
  fail "served SVID SAN: $(openssl x509 -in served.leaf.pem -noout -ext subjectAltName)"

# 2. mTLS: a valid client SVID reaches the runtime; no certificate is refused.
code=$(curl -sk -o body.txt -w '%{http_code}' --cert caller.pem --key caller.key \
  "https://$rt_hostport/v1/attestation")
[[ $code == 200 ]] && grep -q '"evidence"' body.txt || fail "curl with a client SVID: HTTP $code"
curl -sk -o /dev/null "https://$rt_hostport/v1/attestation" && fail "curl without a client certificate was served"
# Issue 14: 520 stalled TLS handshakes do not stop the runtime serving its callers.
"$helper" slow-tls "${rt_hostport##*:}" 520 6 >slow.txt 2>&1 &
slow_pid=$!
sleep 2
code=$(curl -sk -m 10 -o /dev/null -w '%{http_code}' --cert caller.pem --key caller.key \
  "https://$rt_hostport/v1/attestation")
[[ $code == 200 ]] || fail "curl with a client SVID during 520 stalled handshakes: HTTP $code"
wait "$slow_pid" || fail "the stalled handshakes were not held: $(cat slow.txt)"
# A client certificate of another trust domain, from a CA of its own.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=evil-ca \
  -keyout evil-ca.key -out evil-ca.pem -days 2 -addext basicConstraints=critical,CA:TRUE \
  >/dev/null 2>&1 || fail "openssl req (evil CA)"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=evil -keyout evil.key \
  -out evil.csr >/dev/null 2>&1 || fail "openssl req (evil)"
printf 'subjectAltName=URI:spiffe://evil.example/tenant/hr/workload/caller\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >evil.ext
openssl x509 -req -in evil.csr -CA evil-ca.pem -CAkey evil-ca.key -CAcreateserial -days 1 \
  -extfile evil.ext -out evil.pem >/dev/null 2>&1 || fail "openssl x509 (evil)"
curl -sk -o /dev/null --cert evil.pem --key evil.key "https://$rt_hostport/v1/attestation" &&
  fail "a wrong-trust-domain client certificate was served"
grep -q 'client certificate refused' launch.err || fail "no refusal logged: $(cat launch.err)"
# The SDK over SVID-TLS + mTLS: bundle pinned, SPIFFE ID checked in the handshake.
svid_verify=(--allow-simulated "${dd[@]}" --expect-measurement "$m_svid" --ca-cert bundle.pem
  --client-cert caller.pem --client-key caller.key)
expect_ok sdk-svid "$crypta" attest service "https://$rt_hostport" "${svid_verify[@]}" \
  --expect-spiffe-id 'spiffe://crypta.local/tenant/radiology/workload/*'
contains sdk-svid "^verified +yes$"
expect_error sdk-svid-wrong-id "TLS peer check failed.*matches none" \
  "$crypta" attest service "https://$rt_hostport" "${svid_verify[@]}" \
  --expect-spiffe-id 'spiffe://crypta.local/tenant/hr/workload/*'
expect_error sdk-no-client-cert "cannot reach the service" \
  "$crypta" attest service "https://$rt_hostport" --allow-simulated "${dd[@]}" \
  --expect-measurement "$m_svid" --ca-cert bundle.pem
# Revocation: served before, refused once the runtime refreshed the CRL.
code=$(curl -sk -o /dev/null -w '%{http_code}' --cert revoked.pem --key revoked.key \
  "https://$rt_hostport/v1/attestation")
[[ $code == 200 ]] || fail "revoked-caller before revocation: HTTP $code"
curl -s -X POST "${admin[@]}" -H 'Content-Type: application/json' -d '{}' \
  "$url/v1/tenants/hr/workloads/revoked-caller/revoke" >revoke.txt || fail "revoke"
grep -q '"revoked_svids":1' revoke.txt || fail "revoke answer: $(cat revoke.txt)"
sleep 3
curl -sk -o /dev/null --cert revoked.pem --key revoked.key "https://$rt_hostport/v1/attestation" &&
  fail "a revoked client SVID was served"
grep -q 'client certificate refused: .*revoked' launch.err || fail "no revoked refusal: $(cat launch.err)"
code=$(curl -sk -o /dev/null -w '%{http_code}' --cert caller.pem --key caller.key \
  "https://$rt_hostport/v1/attestation")
[[ $code == 200 ]] || fail "caller after another workload's revocation: HTTP $code"

# 3. Rotation under load: >= 3 SVID renewals and one CA rotation, zero failed calls.
renewals_before=$(grep -c 'TLS certificate renewed' launch.err)
"$helper" load "https://$rt_hostport" "$url" caller.pem caller.key 30 \
  'spiffe://crypta.local/tenant/radiology/workload/radiology-model' >load.txt 2>&1 &
load_pid=$!
sleep 10
curl -sf -X POST "${admin[@]}" -H 'Content-Type: application/json' -d '{"overlap_s": 7200}' \
  "$url/v1/pki/rotate" >rotate.txt || fail "POST /v1/pki/rotate"
grep -q '"generation":2' rotate.txt || fail "rotate answer: $(cat rotate.txt)"
wait "$load_pid" || fail "calls failed under rotation: $(tail -n 5 load.txt)"
grep -q 'failures 0' load.txt || fail "load: $(tail -n 3 load.txt)"
renewals=$(($(grep -c 'TLS certificate renewed' launch.err) - renewals_before))
[[ $renewals -ge 3 ]] || fail "only $renewals SVID renewals during the load"
echo "rotation under load: $(tail -n 1 load.txt), $renewals renewals"
# The runtime now serves an SVID of the new CA generation, and the bundle holds both roots.
curl -sf "$url/v1/pki/bundle" >bundle2.pem || fail "GET bundle after rotation"
[[ $(grep -c 'BEGIN CERTIFICATE' bundle2.pem) == 2 ]] || fail "bundle after rotation: not two roots"
served_chain rotated
openssl verify -CAfile bundle2.pem -untrusted rotated.chain.pem rotated.leaf.pem >verify.txt 2>&1 ||
  fail "openssl verify after rotation: $(cat verify.txt)"
cmp -s served.chain.pem rotated.chain.pem && fail "the intermediate did not change after rotation"
# Unauthenticated rotation is refused.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$url/v1/pki/rotate")
[[ $code == 401 ]] || fail "unauthenticated rotate: HTTP $code, want 401"
stop_runtime

# 4. Attested TLS: crypta attest service https://… checks the certificate's evidence.
launch "${rt_att[@]}"
expect_ok attested "$crypta" attest service "https://$rt_hostport" --allow-simulated "${dd[@]}" \
  --expect-measurement "$m_att"
contains attested "^verified +yes$"
contains attested "^measurement +$m_att$"
expect_error attested-other "TLS peer check failed.*not an expected measurement" \
  "$crypta" attest service "https://$rt_hostport" --allow-simulated "${dd[@]}" \
  --expect-measurement "$m_svid"
expect_error attested-not-sim "TLS peer check failed.*SIMULATED" \
  "$crypta" attest service "https://$rt_hostport" --expect-measurement "$m_att"
expect_ok attested-predict "$crypta" predict "https://$rt_hostport" --model tiny_cnn \
  --input "$models/tiny_cnn.input.npy" --allow-simulated "${dd[@]}" --expect-measurement "$m_att"
contains attested-predict '"outputs"'
# Plain https clients see an ordinary certificate (the extension is not critical).
curl -sk -o /dev/null -w '%{http_code}' "https://$rt_hostport/v1/attestation" >code.txt
[[ $(cat code.txt) == 200 ]] || fail "curl to the attested-TLS runtime: HTTP $(cat code.txt)"
stop_runtime

stop_server
finish
