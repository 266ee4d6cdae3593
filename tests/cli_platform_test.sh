#!/usr/bin/env bash
# End to end: `crypta up --insecure-http` in the background, then the tenant, token, key,
# policy and audit commands against it, found through --data-dir and through --url/--token.
# Usage: cli_platform_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
source "$(dirname "$0")/control_plane_lib.sh"

# Nothing running yet: a clear error, exit 1.
expect_error no-server "no control plane" "$crypta" tenant list --data-dir "$work/none"
expect_error bad-url "cannot reach the control plane at http://127.0.0.1:1" \
  "$crypta" tenant list --url http://127.0.0.1:1 --token x

data="$work/data"
start_server "$data"
# One `crypta up` per data dir: a second one is refused and names the first.
expect_error second-up "data dir .* is already served by PID $server_pid at $url" \
  "$crypta" up --listen 127.0.0.1:0 --insecure-http --data-dir "$data"
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "url file: $url"
[[ $(stat -c %a "$data/url") == 644 ]] || fail "url file mode $(stat -c %a "$data/url")"
dd=(--data-dir "$data")

# Tenants, through the data dir.
expect_ok tenant-create "$crypta" tenant create radiology "${dd[@]}"
contains tenant-create "created tenant radiology"
expect_ok tenant-create2 "$crypta" tenant create oncology "${dd[@]}"
expect_error tenant-dup "radiology" "$crypta" tenant create radiology "${dd[@]}"
expect_ok tenant-list "$crypta" tenant list "${dd[@]}"
contains tenant-list-header "^NAME +CREATED$"
contains tenant-list-row "^radiology +[0-9]{4}-[0-9]{2}-[0-9]{2}T"
expect_ok tenant-list-json "$crypta" tenant list --output json "${dd[@]}"
contains tenant-list-json '"name": "oncology"'
"$crypta" tenant list --output xml "${dd[@]}" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "--output xml: want usage error exit 2"

# Through --url/--token and through the environment.
admin=$(cat "$data/admin.token")
expect_ok url-token "$crypta" tenant list --url "$url" --token "$admin" --data-dir "$work/none"
contains url-token "^oncology "
CRYPTA_URL=$url CRYPTA_TOKEN=$admin HOME="$work/home" XDG_DATA_HOME= expect_ok env \
  "$crypta" tenant list
contains env "^radiology "
expect_error bad-token "API token" "$crypta" tenant list --url "$url" --token wrong

# Tokens: the last line is a token that works.
expect_ok token-admin "$crypta" token create --tenant radiology --role tenant-admin "${dd[@]}"
tadmin=$(tail -n 1 out.txt)
expect_ok token-user "$crypta" token create --tenant radiology --role tenant-user "${dd[@]}"
tuser=$(tail -n 1 out.txt)
[[ -n $tadmin && $tadmin != "$tuser" ]] || fail "token lines: '$tadmin' '$tuser'"
"$crypta" token create --tenant radiology --role platform-admin "${dd[@]}" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "--role platform-admin: want usage error exit 2"
as_tadmin=(--url "$url" --token "$tadmin")
as_tuser=(--url "$url" --token "$tuser")
expect_error user-cannot-create-key "permission|denied" \
  "$crypta" key create --tenant radiology models "${as_tuser[@]}"
expect_error cross-tenant "permission|denied" \
  "$crypta" key create --tenant oncology models "${as_tadmin[@]}"

# Keys, as the tenant admin.
expect_ok key-create "$crypta" key create --tenant radiology models --rotate-days 30 "${as_tadmin[@]}"
contains key-create "created key radiology/models version 1"
expect_error key-dup "models" "$crypta" key create --tenant radiology models "${as_tadmin[@]}"
expect_ok key-list "$crypta" key list --tenant radiology "${as_tadmin[@]}"
contains key-list-header "^NAME +VERSION +ROTATE_DAYS +LAST_ROTATED +NEXT_ROTATION$"
contains key-list-row "^models +1 +30 +[0-9]{4}-"
expect_ok key-rotate "$crypta" key rotate --tenant radiology models "${as_tadmin[@]}"
contains key-rotate "to version 2"
expect_ok key-list-json "$crypta" key list --tenant radiology --output json "${as_tadmin[@]}"
contains key-list-json '"current_version": 2'
expect_error key-rotate-missing "not found|no such|unknown|nope" \
  "$crypta" key rotate --tenant radiology nope "${as_tadmin[@]}"
# Retiring: never the current version; an old one (it wraps no DEK here) goes.
expect_error retire-current "current" \
  "$crypta" key retire-version --tenant radiology models 2 "${as_tadmin[@]}"
expect_error retire-user "permission denied" \
  "$crypta" key retire-version --tenant radiology models 1 "${as_tuser[@]}"
expect_ok retire "$crypta" key retire-version --tenant radiology models 1 "${as_tadmin[@]}"
contains retire "retired version 1 of key radiology/models"
expect_ok key-list-retired "$crypta" key list --tenant radiology --output json "${as_tadmin[@]}"
contains key-list-retired '"state": "retired"'

# Token listing and revocation: ids and roles only, never the secret; a revoked token stops.
expect_ok token-extra "$crypta" token create --tenant radiology --role tenant-user "${dd[@]}"
extra=$(tail -n 1 out.txt)
extra_id=$(sed -n 's/^created tenant-user token \([^ ]*\) .*/\1/p' out.txt)
expect_ok token-list "$crypta" token list --tenant radiology "${as_tadmin[@]}"
contains token-list-header "^TOKEN_ID +ROLE +CREATED +REVOKED$"
contains token-list-row "^$extra_id +tenant-user +.* false$"
grep -qF -- "$extra" out.txt && fail "token list shows a token secret"
expect_ok token-works "$crypta" key list --tenant radiology --url "$url" --token "$extra"
expect_error token-revoke-cross "permission denied" \
  "$crypta" token revoke --tenant radiology "$extra_id" --url "$url" --token "$extra"
expect_ok token-revoke "$crypta" token revoke --tenant radiology "$extra_id" "${as_tadmin[@]}"
expect_error token-revoked "API token" \
  "$crypta" key list --tenant radiology --url "$url" --token "$extra"
expect_error token-revoke-other-tenant "has no token" \
  "$crypta" token revoke --tenant oncology "$extra_id" "${dd[@]}"
expect_ok token-list-json "$crypta" token list --tenant radiology --output json "${as_tadmin[@]}"
contains token-list-json '"revoked": true'

# Policies: round trip, tenant-wide and per key; a malformed one names the key.
printf 'tee: [sim]\nallow_simulated: true\nmeasurements: [%s]\n' \
  "$(printf 'ab%.0s' $(seq 1 48))" >policy.yaml
expect_ok policy-set "$crypta" policy set --tenant radiology --key models -f policy.yaml "${as_tadmin[@]}"
contains policy-set "policy stored \(id sha256:"
expect_ok policy-get "$crypta" policy get --tenant radiology --key models "${as_tadmin[@]}"
cmp -s out.txt policy.yaml || fail "policy get: $(cat out.txt)"
expect_ok policy-set-tenant "$crypta" policy set --tenant radiology -f policy.yaml "${dd[@]}"
expect_ok policy-get-json "$crypta" policy get --tenant radiology --output json "${dd[@]}"
contains policy-get-json '"key": ""'
printf 'tee: [sim]\nallow_simulatd: true\n' >bad.yaml
expect_error policy-malformed "allow_simulatd" \
  "$crypta" policy set --tenant radiology --key models -f bad.yaml "${as_tadmin[@]}"
expect_ok policy-unchanged "$crypta" policy get --tenant radiology --key models "${as_tadmin[@]}"
cmp -s out.txt policy.yaml || fail "a rejected policy replaced the stored one"

# Reference values in place: add and remove one measurement, the rest of the policy kept.
m2=$(printf 'cd%.0s' $(seq 1 48))
expect_ok add-measurement "$crypta" policy add-measurement --tenant radiology --key models "$m2" \
  "${as_tadmin[@]}"
contains add-measurement "^added measurements $m2 in radiology/models's release policy$"
expect_ok policy-added "$crypta" policy get --tenant radiology --key models "${as_tadmin[@]}"
grep -q "$m2" out.txt && grep -q "abababab" out.txt && grep -q "allow_simulated: true" out.txt ||
  fail "add-measurement: $(cat out.txt)"
expect_ok add-again "$crypta" policy add-measurement --tenant radiology --key models "$m2" \
  "${as_tadmin[@]}"
contains add-again "^policy unchanged$"
expect_ok remove-measurement "$crypta" policy remove-measurement --tenant radiology --key models \
  "$m2" "${as_tadmin[@]}"
contains remove-measurement "^removed measurements $m2 "
expect_ok policy-removed "$crypta" policy get --tenant radiology --key models "${as_tadmin[@]}"
grep -q "$m2" out.txt && fail "remove-measurement left it: $(cat out.txt)"
expect_error add-not-hex "measurements: \"xyz\" is not hex" \
  "$crypta" policy add-measurement --tenant radiology --key models xyz "${as_tadmin[@]}"
expect_error add-no-policy "has no policy yet: give the TEE" \
  "$crypta" policy add-measurement --tenant radiology --key other "$m2" "${dd[@]}"

# Audit: the actions above, and the denials.
expect_ok audit "$crypta" audit tail -n 100 "${dd[@]}"
contains audit-header "^SEQ +TIME +ACTOR +TENANT +ACTION +OUTCOME +REASON$"
for action in key.create key.rotate key.retire_version token.revoke policy.set policy.reference_values; do contains "audit-$action" " $action +allow "; done
contains audit-deny "deny"
expect_ok audit-json "$crypta" audit tail -n 2 --output json "${dd[@]}"
[[ $(grep -c '"seq"' out.txt) -eq 2 ]] || fail "audit tail -n 2: $(cat out.txt)"

stop_server
finish
