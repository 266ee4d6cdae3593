#!/usr/bin/env bash
# The release transparency log end to end (issue 17), real processes on loopback: `crypta up`,
# a key whose release policy says require_published (and lists no measurement), crypta-runtime
# under `crypta sim launch`:
#   - before its release is published the runtime gets no key (require_published refuses);
#   - `crypta release publish`, then the runtime starts and `crypta predict --transparency`
#     checks the inclusion proof against a checkpoint signed by the pinned log key, remembers
#     it, and predicts; the log grows and the next prediction proves consistency;
#   - a service whose measurement is not published (another key's policy lets it run) is
#     refused before anything is sent to it; so is a release of another tenant;
#   - a remembered checkpoint the log does not extend (rollback, fork) is refused, and so is
#     a real fork: a copy of the control plane (same root key, same log key) whose log
#     diverged;
#   - `crypta receipt verify --transparency` checks the receipt's release;
#   - `crypta release dump` + `release verify --log-dump` recompute the log; an edited entry
#     and a wrong key are refused.
# Usage: transparency_e2e_test.sh CRYPTA CRYPTA_RUNTIME MODELS_DIR
set -uo pipefail
crypta=$1
runtime=$(realpath "$2")
models=$(realpath "$3")
source "$(dirname "$0")/../control_plane_lib.sh"
fork_pid=
trap 'if [[ -n $fork_pid ]]; then kill "$fork_pid" 2>/dev/null; wait "$fork_pid" 2>/dev/null; fi; cleanup' EXIT

use_tiny_model "$models" torchscript
data="$work/data"
start_server "$data"
dd=(--data-dir "$data")
expect_ok tenant "$crypta" tenant create radiology "${dd[@]}"
expect_ok tenant2 "$crypta" tenant create billing "${dd[@]}"
expect_ok key "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok key2 "$crypta" key create --tenant radiology plain "${dd[@]}"
expect_ok push "$crypta" model push --tenant radiology --key models --name tiny_cnn \
  -f "$model_file" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
ref=$(tail -n 1 out.txt)
expect_ok push2 "$crypta" model push --tenant radiology --key plain --name tiny_plain \
  -f "$model_file" --signature "$models/tiny_cnn.signature.json" "${dd[@]}"
ref2=$(tail -n 1 out.txt)
digest=${ref##*@}
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || fail "push reference: $ref"

# A copy of the control plane (the same root key, so the same log key) before anything is
# published: a log that will diverge from this one. (With PostgreSQL a copy of the data dir is
# a replica of the same store, not a fork: the real fork runs on SQLite only.)
real_fork=false
if [[ ! -f $data/store.url ]]; then
  real_fork=true
  stop_server
  cp -a "$data" "$work/fork"
  start_server "$data"
  rm -f "$work/fork/url"
  "$crypta" up --listen 127.0.0.1:0 --insecure-http --data-dir "$work/fork" >fork.log 2>&1 &
  fork_pid=$!
  for _ in $(seq 1 200); do [[ -s $work/fork/url ]] && break; sleep 0.05; done
  fork_url=$(cat "$work/fork/url")
fi

rt=("$runtime" --broker "$url" --model "$ref" --backend torchscript --model-name tiny_cnn
  --listen 127.0.0.1:0 --threads 1)
rt2=("$runtime" --broker "$url" --model "$ref2" --backend torchscript --model-name tiny_cnn
  --listen 127.0.0.1:0 --threads 1)
expect_ok measure "$crypta" sim measure "${dd[@]}" -- "${rt[@]}"
m=$(tail -n 1 out.txt)
expect_ok measure2 "$crypta" sim measure "${dd[@]}" -- "${rt2[@]}"
m2=$(tail -n 1 out.txt)
# The log is the reference list: no measurement in the policy.
printf 'tee: [sim]\nallow_simulated: true\nrequire_published: true\n' >published.yaml
expect_ok policy "$crypta" policy set --tenant radiology --key models -f published.yaml "${dd[@]}"
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' "$m2" >plain.yaml
expect_ok policy2 "$crypta" policy set --tenant radiology --key plain -f plain.yaml "${dd[@]}"

# Not published yet: attestation itself is refused (the platform appraises with the release
# policies, and this one requires a published measurement).
launch_runtime "$data" "${rt[@]}"
[[ -z $rurl ]] || fail "the runtime started although its release is not published"
grep -q "require_published: measurement $m is not published in tenant radiology's release log" \
  runtime.err || fail "no require_published refusal at attestation: $(tail -n 3 runtime.err)"
stop_runtime
# Published with another model: it attests, but the model key is not released to it.
zero="sha256:$(printf '%064d' 0)"
expect_ok publish-wrong "$crypta" release publish --tenant radiology --workload tiny \
  --measurement "$m" --model-digest "$zero" --note "another model" "${dd[@]}"
contains publish-wrong "^published release 0: tenant radiology, workload tiny$"
launch_runtime "$data" "${rt[@]}"
[[ -z $rurl ]] || fail "the runtime got the key of a model its release does not name"
grep -q "require_published: measurement $m with model $digest is not published in tenant radiology's release log" \
  runtime.err || fail "no require_published refusal at key release: $(tail -n 3 runtime.err)"
stop_runtime
expect_ok audit "$crypta" audit tail "${dd[@]}" --output json
grep -q "require_published" out.txt || fail "the refusal is not in the audit log"

# The log's key, as clients pin it (the data dir's release-log.vkey).
vkey=$(cat "$data/release-log.vkey")
[[ $vkey =~ ^crypta\.local/releases\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$ ]] || fail "verifier key: $vkey"
# other_key NAME: a well-formed verifier key of another (random) Ed25519 key.
other_key() {
  /usr/bin/python3 -c '
import base64, hashlib, os, sys
name, key = sys.argv[1], b"\x01" + os.urandom(32)
print("%s+%s+%s" % (name, hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex(),
                    base64.b64encode(key).decode()))' "$1"
}

expect_ok publish "$crypta" release publish --tenant radiology --workload tiny --measurement "$m" \
  --model "$ref" --note "first release" "${dd[@]}"
contains publish "^published release 1: tenant radiology, workload tiny$"
expect_error publish-bad "measurement" "$crypta" release publish --tenant radiology \
  --workload tiny --measurement "ABCD" --model "$ref" "${dd[@]}"
expect_error publish-tenant "no tenant nobody" "$crypta" release publish --tenant nobody \
  --workload tiny --measurement "$m" --model "$ref" "${dd[@]}"

launch_runtime "$data" "${rt[@]}"
[[ -n $rurl ]] || { fail "the published runtime did not start: $(tail -n 3 runtime.err)"; finish; }
state="$work/state.json"
tp=(--transparency "$url" --transparency-state "$state")
expect_ok predict-1 "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
  --allow-simulated --expect-measurement "$m" "${dd[@]}" "${tp[@]}" --receipt receipt.json
grep -q "published: release 1 of crypta.local/releases (tenant radiology), in checkpoint size 2" \
  err.txt || fail "predict-1: $(cat err.txt)"
grep -q '"size":2,' "$state" || fail "state after predict-1: $(cat "$state")"
[[ $(stat -c %a "$state") == 600 ]] || fail "state file mode $(stat -c %a "$state")"
# The log grows (another tenant's release); the next check proves consistency with size 2.
expect_ok publish-2 "$crypta" release publish --tenant billing --workload other \
  --measurement "$m2" --model-digest "sha256:$(printf '%064d' 0)" "${dd[@]}"
expect_ok attest-2 "$crypta" attest service "$rurl" --allow-simulated --expect-measurement "$m" \
  "${dd[@]}" "${tp[@]}" --tenant radiology --output json
contains attest-2 '"checkpoint_size": 3'
contains attest-2 '"index": 1'
grep -q '"size":3,' "$state" || fail "state after attest-2: $(cat "$state")"
# Without an expected measurement the log alone is not enough: the client still pins code.
expect_error no-pin "no expected measurement" "$crypta" attest service "$rurl" \
  --allow-simulated "${dd[@]}" --transparency "$url" --transparency-state "$work/s0.json"
# A policy with require_published needs a log; with one, the log is the reference list.
printf 'tee: [sim]\nallow_simulated: true\nrequire_published: true\n' >client-policy.yaml
expect_error policy-no-log "require_published: no release log" "$crypta" attest service "$rurl" \
  --allow-simulated "${dd[@]}" --policy client-policy.yaml
expect_ok policy-log "$crypta" attest service "$rurl" --allow-simulated "${dd[@]}" \
  --policy client-policy.yaml "${tp[@]}"
# Another tenant's release does not count for radiology.
expect_error wrong-tenant "not published" "$crypta" attest service "$rurl" --allow-simulated \
  --expect-measurement "$m" "${dd[@]}" "${tp[@]}" --tenant billing
# The receipt's release, checked offline against the log.
expect_ok receipt "$crypta" receipt verify receipt.json --allow-simulated "${dd[@]}" "${tp[@]}"
contains receipt '"checkpoint_size": 3'
# A wrong log key, a rolled-back and a forked remembered state.
expect_error wrong-key "checkpoint signature" "$crypta" attest service "$rurl" --allow-simulated \
  --expect-measurement "$m" "${dd[@]}" --transparency "$url" --transparency-state "$work/s1.json" \
  --log-key "$(other_key crypta.local/releases)"
root=$(/usr/bin/python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
printf '{"origin":"crypta.local/releases","root":"%s","size":9,"v":1}\n' "$root" >rollback.json
expect_error rollback "rollback: the checkpoint has size 3, smaller than the remembered size 9" \
  "$crypta" attest service "$rurl" --allow-simulated --expect-measurement "$m" "${dd[@]}" \
  --transparency "$url" --transparency-state rollback.json
printf '{"origin":"crypta.local/releases","root":"%s","size":3,"v":1}\n' "$root" >forked.json
expect_error fork-state "fork:" "$crypta" attest service "$rurl" --allow-simulated \
  --expect-measurement "$m" "${dd[@]}" --transparency "$url" --transparency-state forked.json
cmp -s <(printf '{"origin":"crypta.local/releases","root":"%s","size":3,"v":1}\n' "$root") \
  forked.json || fail "a refused check changed the state file"

if $real_fork; then
  # The real fork: the copy publishes the same first release, then a different second one.
  fd=(--data-dir "$work/fork")
  expect_ok fork-publish-1 "$crypta" release publish --tenant radiology --workload tiny \
    --measurement "$m" --model "$ref" --note "first release" "${fd[@]}"
  expect_ok fork-publish-2 "$crypta" release publish --tenant radiology --workload evil \
    --measurement "$m2" --model "$ref" "${fd[@]}"
  expect_ok fork-publish-3 "$crypta" release publish --tenant radiology --workload evil2 \
    --measurement "$m2" --model "$ref2" "${fd[@]}"
  [[ $(cat "$work/fork/release-log.vkey") == "$vkey" ]] || fail "the copy has another log key"
  cp "$state" before-fork.json
  expect_error fork-log "fork: " "$crypta" attest service "$rurl" --allow-simulated \
    --expect-measurement "$m" "${dd[@]}" --transparency "$fork_url" --transparency-state "$state"
  cmp -s before-fork.json "$state" || fail "the forked log changed the remembered state"
  # A client that never saw the original log accepts the copy (first contact trusts; witnesses
  # would close this gap, docs/transparency.md), and then refuses the original.
  expect_ok fork-first "$crypta" attest service "$rurl" --allow-simulated --expect-measurement "$m" \
    "${dd[@]}" --transparency "$fork_url" --transparency-state fresh.json
  expect_error fork-other-way "rollback: |fork: " "$crypta" attest service "$rurl" --allow-simulated \
    --expect-measurement "$m" "${dd[@]}" --transparency "$url" --transparency-state fresh.json
fi
stop_runtime

# A service the log does not know: refused before anything is sent.
launch_runtime "$data" "${rt2[@]}"
[[ -n $rurl ]] || { fail "the plain runtime did not start: $(tail -n 3 runtime.err)"; finish; }
ohttp_count() {
  curl -sf "$rurl/metrics" |
    awk '/^crypta_runtime_http_requests_total\{/ && (/route="\/v1\/ohttp"/ || /channel="ohttp"/) {n += $NF} END {print n + 0}'
}
expect_ok plain-ok "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
  --allow-simulated --expect-measurement "$m2" "${dd[@]}"
before=$(ohttp_count)
expect_error unpublished "refusing to send the input: transparency: not published: no release with measurement $m2 and model sha256:${ref2##*sha256:}" \
  "$crypta" predict "$rurl" --model tiny_cnn --input "$models/tiny_cnn.input.npy" \
  --allow-simulated --expect-measurement "$m2" "${dd[@]}" "${tp[@]}"
[[ $(ohttp_count) == "$before" ]] || fail "an OHTTP request reached the unpublished service"
stop_runtime

# Offline audit of the whole log.
expect_ok dump "$crypta" release dump --out dump "${dd[@]}"
contains dump "^wrote 3 release\(s\)"
expect_ok verify-dump "$crypta" release verify --log-dump dump "${dd[@]}"
contains verify-dump "^verified 3 release\(s\): crypta.local/releases size 3 root "
expect_ok verify-dump-key "$crypta" release verify --log-dump dump --log-key "$data/release-log.vkey"
"$crypta" release verify --log-dump dump >out.txt 2>err.txt
[[ $? -eq 2 ]] && grep -q "give the log key you trust" err.txt || fail "verify-no-key: $(cat err.txt)"
expect_ok list "$crypta" release list "${dd[@]}"
contains list "^1 +[0-9TZ:-]+ +radiology +tiny +$m +$digest$"
cp -r dump edited
sed -i '2s/"first release"/"first release!"/' edited/entries.jsonl
expect_error verify-edited "line 2" "$crypta" release verify --log-dump edited "${dd[@]}"
if $real_fork; then  # both histories are signed by the same key: only a witness tells
  expect_ok fork-dump "$crypta" release dump --out forkdump "${fd[@]}"
  expect_ok fork-dump-verifies "$crypta" release verify --log-dump forkdump "${dd[@]}"
fi
expect_error wrong-dump-key "key" "$crypta" release verify --log-dump dump \
  --log-key "$(other_key crypta.local/releases)"
finish
