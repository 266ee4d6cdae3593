#!/usr/bin/env bash
# `crypta attest verify` on the NVIDIA GPU, AWS Nitro and Arm CCA vectors (testdata/nvidia,
# testdata/nitro, testdata/cca; issue 16), as a user runs it: every MANIFEST verdict, a
# selection of its mutation recipes, exit statuses and one-line rejections.
# Usage: cli_attest_devices_test.sh CRYPTA_BINARY TESTDATA_DIR
set -uo pipefail
crypta=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect NAME STATUS [STDERR_SUBSTRING] -- ARGS...
expect() {
  local name=$1 want=$2 needle=$3
  shift 4
  "$crypta" attest verify "$@" >"$work/out.json" 2>"$work/err.txt"
  local got=$?
  [[ $got == "$want" ]] || { fail "$name: exit $got, want $want: $(cat "$work/err.txt")"; return; }
  if [[ -n $needle ]]; then
    grep -qi -- "$needle" "$work/err.txt" || fail "$name: stderr lacks '$needle': $(cat "$work/err.txt")"
    [[ $want == 0 || $(wc -l <"$work/err.txt") -eq 1 ]] || fail "$name: more than one stderr line"
  fi
  echo "ok: $name (exit $got)"
}
json() { python3 -c "import json,sys; d=json.load(open('$work/out.json')); print($1)"; }
# flip FILE OFFSET OUT: OUT is FILE with byte OFFSET xor 0x01.
flip() {
  python3 -c "import sys; b=bytearray(open('$1','rb').read()); b[$2]^=1; open('$3','wb').write(b)"
}

# --- NVIDIA Hopper GPU (testdata/nvidia/MANIFEST.md) ---
nv=$data/nvidia
gpu=$nv/nvtrust-hopper-sample
nonce=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
at=2025-06-01T00:00:00Z
expect "GPU sample report verifies" 0 "revocation NOT checked" -- --tee nvidia-gpu \
  --evidence "$gpu/report.bin" --collateral "$gpu/hopperCertChain.txt" --at $at --report-data $nonce
[[ $(json 'd["verified"], d["tee"], d["simulated"], d["claims"]["driver_version"], d["claims"]["vbios_version"]') == \
  "True nvidia-gpu False 550.90.07 96.00.9f.00.01" ]] || fail "GPU claims: $(json 'd["claims"]')"
[[ $(json 'sum(1 for v in d["claims"]["measurements"].values() if v.strip("0"))') == 26 ]] ||
  fail "GPU: 26 non-zero measurement blocks expected"
[[ $(json 'd["claims"]["fwid"]') == f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d ]] ||
  fail "GPU FWID: $(json 'd["claims"]["fwid"]')"
expect "GPU report as hex text" 0 "" -- --tee nvidia-gpu --evidence "$gpu/hopperAttestationReport.txt" \
  --collateral "$gpu/hopperCertChain.txt" --at $at
expect "GPU nonce mismatch" 1 "nonce" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$gpu/hopperCertChain.txt" --at $at --report-data "${nonce%b}a"
expect "GPU chain: root only" 1 "" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$nv/trustee-chain-root-only/hopper_cert_chain_case2.txt" --at $at
expect "GPU chain: missing ICA" 1 "" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$nv/trustee-chain-missing-ica/hopper_cert_chain_case3.txt" --at $at
expect "GPU chain: no leaf" 1 "" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$nv/trustee-chain-no-leaf/hopper_cert_chain_case4.txt" --at $at
expect "GPU chain not yet valid" 1 "not yet valid" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$gpu/hopperCertChain.txt" --at 2022-02-28T00:00:00Z
for off in 4021 4116 107 3669 3968 3565; do
  flip "$gpu/report.bin" $off "$work/gpu.bin"
  expect "GPU byte $off flipped" 1 "" -- --tee nvidia-gpu --evidence "$work/gpu.bin" \
    --collateral "$gpu/hopperCertChain.txt" --at $at
done
head -c 4116 "$gpu/report.bin" >"$work/short.bin"
expect "GPU report truncated" 1 "" -- --tee nvidia-gpu --evidence "$work/short.bin" \
  --collateral "$gpu/hopperCertChain.txt" --at $at
# Another root in place of NVIDIA's: the pinned root decides.
python3 - "$gpu/hopperCertChain.txt" "$nv/nvidia-roots/verifier_RIM_root.pem" >"$work/wrong-root.pem" <<'PY'
import sys
pems = open(sys.argv[1]).read().split("-----END CERTIFICATE-----")
certs = [p.strip() + "\n-----END CERTIFICATE-----\n" for p in pems if "BEGIN" in p]
print("".join(certs[:-1]) + open(sys.argv[2]).read(), end="")
PY
expect "GPU chain ending in another root" 1 "" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$work/wrong-root.pem" --at $at
# RIMs: NVIDIA's sample RIMs are for driver 545.00 / VBIOS 96.00.5E.00.01, not this report.
rims=$nv/nvtrust-rims
expect "GPU appraised against RIMs of other versions" 1 "" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$gpu/hopperCertChain.txt" --at $at --rim "$rims/Driver_RIM_test_no_gpu.swidtag" \
  --rim "$rims/1010_0200_882_96005E0001_PROD.swidtag"
for index in 7 21 22 40; do
  grep -q "$index" "$work/err.txt" || fail "RIM mismatch list lacks index $index: $(cat "$work/err.txt")"
done
expect "GPU RIM signer expired" 1 "expired" -- --tee nvidia-gpu --evidence "$gpu/report.bin" \
  --collateral "$gpu/hopperCertChain.txt" --at 2025-09-06T00:00:00Z \
  --rim "$rims/Driver_RIM_test_no_gpu.swidtag" --rim "$rims/1010_0200_882_96005E0001_PROD.swidtag"

# --- AWS Nitro Enclaves (testdata/nitro/MANIFEST.md) ---
nitro=$data/nitro
prod=$nitro/nitrite-2024-09-07-prod/attestation.bin
ones=$(python3 -c 'print("01"*1024)')
expect "Nitro production document" 0 "" -- --tee nitro --evidence "$prod" --at 2024-09-07T14:37:39Z \
  --report-data "$ones"
[[ $(json 'd["verified"], d["debug"], d["measurement"]') == \
  "True False e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a" ]] ||
  fail "Nitro claims: $(json 'd["verified"], d["debug"], d["measurement"]')"
expect "Nitro nonce mismatch" 1 "nonce" -- --tee nitro --evidence "$prod" --at 2024-09-07T14:37:39Z \
  --report-data "$(python3 -c 'print("02"*1024)')"
expect "Nitro leaf expired one second later" 1 "expired" -- --tee nitro --evidence "$prod" \
  --at 2024-09-07T17:37:40Z
expect "Nitro leaf not yet valid" 1 "not yet valid" -- --tee nitro --evidence "$prod" \
  --at 2024-09-07T14:37:35Z
for off in 7538 104 308 7440 6; do
  flip "$prod" $off "$work/nitro.bin"
  expect "Nitro byte $off flipped" 1 "" -- --tee nitro --evidence "$work/nitro.bin" --at 2024-09-07T14:37:39Z
done
expect "Nitro 2024-07-31 production document" 0 "" -- --tee nitro \
  --evidence "$nitro/eternis-2024-07-31-prod/attestation.cbor" --at 2024-07-31T20:48:16Z \
  --report-data 0000000000000000000000000000000000000001
expect "Nitro debug document verifies" 0 "" -- --tee nitro \
  --evidence "$nitro/eternis-2024-09-17-debug/attestation.cbor" --at 2024-09-17T20:48:11Z
[[ $(json 'd["debug"]') == True ]] || fail "Nitro debug flag"
cat >"$work/nitro-policy.yaml" <<YAML
tee: [nitro]
measurements: [$(json 'd["measurement"]')]
YAML
expect "Nitro debug document refused by a policy" 1 "debug" -- --tee nitro \
  --evidence "$nitro/eternis-2024-09-17-debug/attestation.cbor" --at 2024-09-17T20:48:11Z \
  --policy "$work/nitro-policy.yaml"
expect "Nitro 2024-09-09 debug document" 0 "" -- --tee nitro \
  --evidence "$nitro/eternis-2024-09-09-debug/attestation.cbor" --at 2024-09-09T19:49:12Z
expect "Nitro invalid signature" 1 "signature" -- --tee nitro \
  --evidence "$nitro/eternis-invalid-signature/attestation.cbor" --at 2024-07-23T21:29:40Z
expect "Nitro self-signed document" 1 "" -- --tee nitro --evidence "$nitro/nitrite-selfsigned/attestation.bin" \
  --at 2024-04-17T18:51:46Z

# --- Arm CCA (testdata/cca/MANIFEST.md) ---
cca=$data/cca
stores=$cca/rust-ccatoken-stores
expect "CCA TF-RMM token with the CPAK PEM" 0 "" -- --tee cca --evidence "$cca/ccatoken-tfrmm/cca_token.cbor" \
  --collateral "$cca/ccatoken-tfrmm/cpak_pub.pem" --at 2025-01-01T00:00:00Z \
  --report-data "$(python3 -c 'print("ab"*64)')"
[[ $(json 'd["verified"], d["measurement"]') == "True $(printf '0%.0s' {1..64})" ]] ||
  fail "CCA claims: $(json 'd["verified"], d["measurement"]')"
expect "CCA realm challenge mismatch" 1 "report_data" -- --tee cca --evidence "$cca/ccatoken-tfrmm/cca_token.cbor" \
  --collateral "$cca/ccatoken-tfrmm/cpak_pub.pem" --at 2025-01-01T00:00:00Z --report-data 00
expect "CCA Trustee example with its stores" 0 "" -- --tee cca \
  --evidence "$cca/trustee-example/cca-example-token.cbor" --collateral "$cca/trustee-example/tastore.json" \
  --reference-values "$cca/trustee-example/rvstore.json" --at 2025-01-01T00:00:00Z
[[ $(json 'd["tcb_status"]') == UpToDate ]] || fail "CCA trustee tcb_status: $(json 'd["tcb_status"]')"
expect "CCA draft-ffm-00 token" 0 "" -- --tee cca --evidence "$cca/rust-ccatoken-draft-ffm-00/cca-token-draft-ffm-00.cbor" \
  --collateral "$stores/ta-tfa.json" --at 2025-01-01T00:00:00Z
expect "CCA draft-ffm-00 against rv.json" 1 "unrecognized hardware" -- --tee cca \
  --evidence "$cca/rust-ccatoken-draft-ffm-00/cca-token-draft-ffm-00.cbor" --collateral "$stores/ta-tfa.json" \
  --reference-values "$stores/rv.json" --at 2025-01-01T00:00:00Z
expect "CCA appraisal token against rv.json" 0 "" -- --tee cca \
  --evidence "$cca/rust-ccatoken-01-appraisal/cca-token-01.cbor" --collateral "$stores/ta-tfa.json" \
  --reference-values "$stores/rv.json" --at 2025-01-01T00:00:00Z
expect "CCA bug-33 binding" 1 "" -- --tee cca --evidence "$cca/rust-ccatoken-bug-33/bug-33-repro.cbor" \
  --collateral "$stores/ta-tfa.json" --at 2025-01-01T00:00:00Z
expect "CCA without a trust anchor" 1 "" -- --tee cca --evidence "$cca/ccatoken-tfrmm/cca_token.cbor" \
  --at 2025-01-01T00:00:00Z
for off in 668 1221 58 690; do
  flip "$cca/ccatoken-tfrmm/cca_token.cbor" $off "$work/cca.cbor"
  expect "CCA byte $off flipped" 1 "" -- --tee cca --evidence "$work/cca.cbor" \
    --collateral "$cca/ccatoken-tfrmm/cpak_pub.pem" --at 2025-01-01T00:00:00Z
done

# Usage errors: exit 2.
"$crypta" attest verify --tee nvidia-gpu --evidence "$gpu/report.bin" --report-data "$(python3 -c 'print("00"*33)')" \
  >/dev/null 2>"$work/err.txt"
[[ $? == 2 ]] || fail "a 33-byte GPU nonce is a usage error"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
