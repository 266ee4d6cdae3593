#!/usr/bin/env bash
# Interoperability: an independent Trustee KBS-protocol client (trustee_client.py, written
# from kbs_attestation_protocol.md + kbs-types only, sharing no crypta code) against
# `crypta up --insecure-http`. Running as a workload in the sim TEE, it must obtain the DEK
# with request bodies of versions 0.1.0 (classic) and 0.4.0 (runtime-data and composite),
# with EC P-256 (ECDH-ES+A256KW) and RSA (RSA-OAEP-256) tee-pubkeys, and verify the EAR
# token with PyJWT from the JWKS alone; a workload with another measurement gets 401.
# Usage: trustee_interop_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
here=$(cd "$(dirname "$0")" && pwd)
client=$here/trustee_client.py
py=/usr/bin/python3  # Debian's: python3-cryptography and python3-jwt
source "$here/../control_plane_lib.sh"

"$py" -c 'import cryptography, jwt' 2>/dev/null ||
  { echo "FAIL: $py lacks python3-cryptography or python3-jwt"; exit 1; }

data="$work/data"
start_server "$data"
admin=$(cat "$data/admin.token")

# api NAME WANT_STATUS METHOD PATH CONTENT_TYPE [BODY]: the admin API; exits on a mismatch,
# since nothing after a failed setup step means anything.
api() {
  local name=$1 want=$2 method=$3 path=$4 ctype=$5 body=${6-}
  local got
  got=$(curl -sS -o resp.txt -w '%{http_code}' -X "$method" \
    -H "Authorization: Bearer $admin" -H "Content-Type: $ctype" \
    ${body:+--data-binary "$body"} "$url$path" 2>err.txt)
  if [[ $got != "$want" ]]; then
    echo "FAIL: setup $name: $method $path: HTTP $got, want $want: $(cat resp.txt err.txt)"
    exit 1
  fi
}

# The two workloads: the same client; only the allowed one's measurement is in the policy.
allow_argv=("$py" "$client" --expect allow)
refuse_argv=("$py" "$client" --expect refuse --other)
m_allow=$("$crypta" sim measure -- "${allow_argv[@]}") || { echo "FAIL: sim measure"; exit 1; }
m_refuse=$("$crypta" sim measure -- "${refuse_argv[@]}") || { echo "FAIL: sim measure"; exit 1; }
[[ $m_allow =~ ^[0-9a-f]{96}$ && $m_refuse =~ ^[0-9a-f]{96}$ && $m_allow != "$m_refuse" ]] ||
  { echo "FAIL: measurements '$m_allow' '$m_refuse'"; exit 1; }

dek_b64=$("$py" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
api tenant 201 POST /v1/tenants application/json '{"name":"hospital"}'
api key 201 POST /v1/tenants/hospital/keys application/json '{"name":"models"}'
api policy 200 PUT /v1/tenants/hospital/keys/models/policy text/plain \
  "$(printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$m_allow")"
api dek 201 POST /v1/tenants/hospital/keys/models/deks application/json \
  "{\"object_id\":\"scan-model\",\"dek_b64\":\"$dek_b64\"}"

# run_workload NAME ARGV...: the client in the sim TEE; its PASS/FAIL lines, its exit status
# and its summary line (so a client that never ran is a failure too).
run_workload() {
  local name=$1
  shift
  CRYPTA_BIN=$crypta KBS_URL=$url KBS_RESOURCE=hospital/models/scan-model \
    KBS_EXPECT_DEK_B64=$dek_b64 \
    "$crypta" sim launch --data-dir "$data" -- "$@" >"$name.out" 2>"$name.err"
  local rc=$?
  cat "$name.out"
  if [[ $rc -ne 0 ]]; then
    fail "$name workload: exit $rc; stderr: $(grep -v 'SIMULATED' "$name.err")"
  fi
  grep -qE '^trustee_client --expect [a-z]+: [1-9][0-9]* passed, 0 failed$' "$name.out" ||
    fail "$name workload: no clean summary line"
}

run_workload allowed "${allow_argv[@]}"
run_workload refused "${refuse_argv[@]}"

stop_server
finish
