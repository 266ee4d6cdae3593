#!/usr/bin/env bash
# End-to-end test of `crypta attest verify` on real evidence (testdata/snp), as a user
# runs it: verdicts, exit statuses, the JSON fields, one-line rejections, policies.
# Usage: cli_attest_test.sh CRYPTA_BINARY TESTDATA_DIR
set -uo pipefail
crypta=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
at=2025-06-01T00:00:00Z

# expect NAME STATUS [STDERR_SUBSTRING] -- ARGS...
expect() {
  local name=$1 want=$2 needle=$3
  shift 4
  "$crypta" attest verify "$@" >"$work/out.json" 2>"$work/err.txt"
  local got=$?
  [[ $got == "$want" ]] || { fail "$name: exit $got, want $want: $(cat "$work/err.txt")"; return; }
  if [[ -n $needle ]]; then
    grep -q -- "$needle" "$work/err.txt" || fail "$name: stderr lacks '$needle': $(cat "$work/err.txt")"
    [[ $(wc -l <"$work/err.txt") -eq 1 ]] || fail "$name: more than one stderr line"
  fi
  echo "ok: $name (exit $got)"
}
json() { python3 -c "import json,sys; d=json.load(open('$work/out.json')); print($1)"; }

snp=$data/snp
expect "milan VCEK verifies" 0 "" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" \
  --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at
[[ $(json 'd["verified"], d["tee"], d["debug"], d["tcb_status"]') == "True sev-snp False UpToDate" ]] ||
  fail "milan fields: $(json 'd')"
[[ $(json 'd["measurement"]') == a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c ]] ||
  fail "milan measurement"
expect "milan VLEK verifies before expiry" 0 "" -- --tee sev-snp --evidence "$snp/trustee-milan-vlek/report.bin" \
  --vcek "$snp/trustee-milan-vlek/vlek.der" --at $at
expect "milan VLEK is expired today" 1 "expired" -- --tee sev-snp --evidence "$snp/trustee-milan-vlek/report.bin" \
  --vcek "$snp/trustee-milan-vlek/vlek.der"
expect "azure milan with a PEM bundle" 0 "" -- --tee sev-snp --evidence "$snp/azure-milan/report.bin" \
  --vcek "$snp/azure-milan/vcek-ask-ark.pem" --at $at
expect "azure genoa" 0 "" -- --tee sev-snp --evidence "$snp/azure-genoa/report.bin" \
  --vcek "$snp/azure-genoa/vcek.pem" --at $at
expect "report with another chip's VCEK" 1 "rejected" -- --tee sev-snp \
  --evidence "$snp/azure-milan/report.bin" --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at
cp "$snp/trustee-milan-vcek/report.bin" "$work/flipped.bin"
printf '\x03' | dd of="$work/flipped.bin" bs=1 seek=42 conv=notrunc status=none
expect "flipped report byte" 1 "signature" -- --tee sev-snp --evidence "$work/flipped.bin" \
  --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at
[[ $(json 'd["verified"]') == False ]] || fail "rejected report still prints verified"
expect "bad VCEK signature (legacy)" 1 "rejected" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" \
  --vcek "$snp/trustee-bad-vcek/test-vcek-invalid-legacy.der" --at $at
expect "bad VCEK signature" 1 "rejected" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" \
  --vcek "$snp/trustee-bad-vcek/test-vcek-invalid-new.der" --at $at

cat >"$work/policy.yaml" <<'YAML'
tee: [sev-snp]
allow_debug: false
measurements: [a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c]
min_tcb: {sev-snp: {bootloader: 3, tee: 0, snp: 8, microcode: 115}}
sev-snp: {max_vmpl: 0, allow_migration_agent: false}
YAML
expect "policy holds" 0 "" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" \
  --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at --policy "$work/policy.yaml"
sed -i 's/microcode: 115/microcode: 200/' "$work/policy.yaml"
expect "policy with a higher microcode minimum" 1 "microcode" -- --tee sev-snp \
  --evidence "$snp/trustee-milan-vcek/report.bin" --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at \
  --policy "$work/policy.yaml"
[[ $(json 'len(d["violations"])') == 1 ]] || fail "violations: $(json 'd["violations"]')"
expect "report_data binding holds" 0 "" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" \
  --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at \
  --report-data ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2
expect "report_data binding fails" 1 "report_data" -- --tee sev-snp \
  --evidence "$snp/trustee-milan-vcek/report.bin" --vcek "$snp/trustee-milan-vcek/vcek.der" --at $at \
  --report-data 00
dcap=$data/dcap
expect "TDX debug TD with collateral" 0 "" -- --tee tdx --evidence "$dcap/tdx/trustee-v4-debug/tdx_quote_4.dat" \
  --collateral "$dcap/tdx/go-tdx-guest-spr-v4" --at 2023-07-01T01:00:00Z
[[ $(json 'd["verified"], d["debug"], d["tcb_status"]') == "True True UpToDate" ]] || fail "TDX debug fields: $(json 'd')"
cat >"$work/nodebug.yaml" <<YAML
tee: [tdx]
measurements: [$(json 'd["measurement"]')]
min_tcb: {tdx: UpToDate}
YAML
expect "the debug TD is refused by a policy without allow_debug" 1 "debug" -- --tee tdx \
  --evidence "$dcap/tdx/trustee-v4-debug/tdx_quote_4.dat" --collateral "$dcap/tdx/go-tdx-guest-spr-v4" \
  --at 2023-07-01T01:00:00Z --policy "$work/nodebug.yaml"
# Revocation (issue 13): with the PCK and Root CA CRLs it is checked; without them a policy
# refuses the quote unless it says allow_missing_revocation, which makes it a warning.
cat >"$work/debugok.yaml" <<YAML
tee: [tdx]
allow_debug: true
measurements: [$(json 'd["measurement"]')]
YAML
expect "with both CRLs the debug TD is allowed with a warning" 0 "" -- --tee tdx \
  --evidence "$dcap/tdx/trustee-v4-debug/tdx_quote_4.dat" --collateral "$dcap/tdx/go-tdx-guest-spr-v4" \
  --at 2023-07-01T01:00:00Z --policy "$work/debugok.yaml"
[[ $(json 'd["revocation"], d["status"], len(d["warnings"])') == "checked warning 1" ]] ||
  fail "CRLs checked: $(json 'd["revocation"], d["status"], d["warnings"]')"
mkdir "$work/nocrl"
cp "$dcap/tdx/go-tdx-guest-spr-v4/tcb_info.json" "$dcap/tdx/go-tdx-guest-spr-v4/qe_identity.json" "$work/nocrl/"
expect "collateral without CRLs is refused by default" 1 "revocation" -- --tee tdx \
  --evidence "$dcap/tdx/trustee-v4-debug/tdx_quote_4.dat" --collateral "$work/nocrl" \
  --at 2023-07-01T01:00:00Z --policy "$work/debugok.yaml"
[[ $(json 'd["revocation"], d["status"]') == "absent contraindicated" ]] ||
  fail "no CRLs: $(json 'd["revocation"], d["status"]')"
echo "allow_missing_revocation: true" >>"$work/debugok.yaml"
expect "collateral without CRLs is a warning when the policy allows it" 0 "" -- --tee tdx \
  --evidence "$dcap/tdx/trustee-v4-debug/tdx_quote_4.dat" --collateral "$work/nocrl" \
  --at 2023-07-01T01:00:00Z --policy "$work/debugok.yaml"
[[ $(json 'd["status"], len(d["warnings"])') == "warning 2" ]] ||
  fail "allowed without CRLs: $(json 'd["status"], d["warnings"]')"
grep -q "revocation NOT checked" "$work/err.txt" || fail "no note that revocation was not checked"
expect "TDX quote with no matching TCB level" 1 "no matching TCB level" -- --tee tdx \
  --evidence "$dcap/tdx/go-tdx-guest-spr-v4/quote.dat" --collateral "$dcap/tdx/go-tdx-guest-spr-v4" \
  --at 2023-07-01T01:00:00Z
expect "TDX v5 quote" 0 "" -- --tee tdx --evidence "$dcap/tdx/go-tdx-guest-v5/quote_v5.dat" \
  --collateral "$dcap/tdx/go-tdx-guest-v5" --at 2026-02-03T01:00:00Z
expect "TDX platform OutOfDate" 0 "" -- --tee tdx --evidence "$dcap/tdx/trustee-v4-00a06d080000/tdx_quote_6.dat" \
  --collateral "$dcap/tdx/trustee-v4-00a06d080000" --at 2025-11-01T00:00:00Z
[[ $(json 'd["tcb_status"]') == OutOfDate ]] || fail "quote 6 status: $(json 'd["tcb_status"]')"
expect "TDX quote without collateral" 0 "" -- --tee tdx --evidence "$dcap/tdx/trustee-azure-v4/td-quote.bin" \
  --at 2025-01-01T00:00:00Z
[[ $(json 'd["tcb_status"]') == Unknown ]] || fail "no-collateral status: $(json 'd["tcb_status"]')"
expect "TDX v5 quote below every TCB level" 1 "no matching TCB level" -- --tee tdx \
  --evidence "$dcap/tdx/trustee-v5/tdx_quote_5.dat" --collateral "$dcap/tdx/go-tdx-guest-v5" \
  --at 2026-02-03T01:00:00Z
expect "TDX quote followed by zero padding" 0 "" -- --tee tdx \
  --evidence "$dcap/tdx/go-tdx-guest-cos113/cos-113-tdx-quote.dat" --at 2025-01-01T00:00:00Z
[[ $(json 'd["report_data"]') == "$(printf '0%.0s' {1..128})" ]] || fail "cos113 report_data is not zero"
sgx=$dcap/sgx/dcap-qvl-00a067110000
expect "SGX quote with collateral JSON" 0 "" -- --tee sgx --evidence "$sgx/sgx_quote.dat" \
  --collateral "$sgx/collateral.json" --at 2025-07-01T00:00:00Z
[[ $(json 'd["tcb_status"], sorted(d["advisory_ids"])') == "ConfigurationAndSWHardeningNeeded ['INTEL-SA-00289', 'INTEL-SA-00615']" ]] ||
  fail "SGX status: $(json 'd["tcb_status"], d["advisory_ids"]')"
expect "SGX collateral is expired today" 1 "expired" -- --tee sgx --evidence "$sgx/sgx_quote.dat" \
  --collateral "$sgx/collateral.json"
expect "SGX debug enclave" 0 "" -- --tee sgx --evidence "$dcap/sgx/trustee-occlum-debug/occlum_quote.dat" \
  --at 2025-01-01T00:00:00Z
[[ $(json 'd["debug"]') == True ]] || fail "occlum debug flag"

expect "unknown TEE is a usage error" 2 "unknown TEE" -- --tee sgx2 --evidence "$snp/trustee-milan-vcek/report.bin"
expect "bad time is a usage error" 2 "time" -- --tee sev-snp --evidence "$snp/trustee-milan-vcek/report.bin" --at yesterday

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all CLI attest checks passed"
