#!/usr/bin/env bash
# End to end over TLS: `crypta up` in the background, then `crypta model push`, `list`,
# `pull` and `rm`: the stored blob is the sealed file (its SHA-256 is the reference's
# digest) and never the plaintext; pulls are digest-checked; tenants are isolated.
# Usage: cli_model_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
source "$(dirname "$0")/control_plane_lib.sh"

# Its own TMPDIR (where push writes the sealed copy), so other tests' pushes do not show up.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
data="$work/data"
start_server "$data" tls
[[ $url == https://* ]] || fail "crypta up did not serve TLS: $url"
dd=(--data-dir "$data")

expect_ok tenant-a "$crypta" tenant create radiology "${dd[@]}"
expect_ok tenant-b "$crypta" tenant create billing "${dd[@]}"
expect_ok key-a "$crypta" key create --tenant radiology models "${dd[@]}"
expect_ok key-b "$crypta" key create --tenant billing other "${dd[@]}"
expect_ok token-a "$crypta" token create --tenant radiology --role tenant-user "${dd[@]}"
as_user=(--url "$url" --ca-cert "$data/tls/ca.pem" --token "$(tail -n 1 out.txt)")
expect_ok token-b "$crypta" token create --tenant billing --role tenant-user "${dd[@]}"
as_other=(--url "$url" --ca-cert "$data/tls/ca.pem" --token "$(tail -n 1 out.txt)")

# A model larger than the server's 1 MiB body cap (so it goes up in several pieces):
# random bytes around a plaintext marker.
marker=PLAINTEXT-MODEL-MARKER-7f3a9c
{ head -c 2000000 /dev/urandom; printf '%s' "$marker"; head -c 1000000 /dev/urandom; } >model.pt
expect_ok push "$crypta" model push --no-check --tenant radiology --key models --name resnet -f model.pt \
  "${as_user[@]}"
ref=$(tail -n 1 out.txt)
[[ $ref =~ ^store://radiology/resnet@sha256:([0-9a-f]{64})$ ]] || fail "push reference: $ref"
digest=${BASH_REMATCH[1]:-none}
blob="$data/blobs/sha256/${digest:0:2}/$digest"
if [[ -f $blob ]]; then
  [[ $(sha256sum "$blob" | cut -d' ' -f1) == "$digest" ]] || fail "stored blob digest"
  grep -q "$marker" "$blob" && fail "stored blob contains the plaintext marker"
  [[ $(stat -c %s "$blob") -gt $(stat -c %s model.pt) ]] || fail "stored blob is not larger"
else
  fail "no stored blob at $blob: $(find "$data/blobs")"
fi
ls "$TMPDIR"/crypta-model-* 2>/dev/null | grep -q . && fail "temporary sealed file left behind"
[[ -z $(find "$data/blobs" -name 'upload-*') ]] || fail "upload file left behind"

expect_ok list "$crypta" model list --tenant radiology "${as_user[@]}"
contains list-header "^NAME +VERSION +KEY +SIZE +BACKEND +SIGNATURE +TEES +CREATED +REFERENCE$"
contains list-row "^resnet +[0-9]+ +models +[0-9]+ +- +- +any .*$ref$"
expect_ok list-json "$crypta" model list --tenant radiology --output json "${as_user[@]}"
contains list-json "\"reference\": \"$ref\""

# Another tenant's user can neither push to nor list this tenant; nor can a key of another
# tenant wrap the model's data key.
expect_error push-cross-tenant "permission denied" \
  "$crypta" model push --no-check --tenant radiology --key models --name x -f model.pt "${as_other[@]}"
expect_error list-cross-tenant "permission denied" \
  "$crypta" model list --tenant radiology "${as_other[@]}"
expect_error push-foreign-key "key radiology/other does not exist" \
  "$crypta" model push --no-check --tenant radiology --key other --name x -f model.pt "${as_user[@]}"
expect_error list-missing-tenant "tenant nope does not exist" \
  "$crypta" model list --tenant nope "${dd[@]}"
expect_ok list-b "$crypta" model list --tenant billing --output json "${as_other[@]}"
contains list-b-empty '"models": \[\]'

# Pull: the sealed blob byte for byte, digest-checked; never over an existing file unless
# --force; other tenants cannot.
expect_ok pull "$crypta" model pull --tenant radiology --name resnet -o pulled.sealed "${as_user[@]}"
cmp -s pulled.sealed "$blob" || fail "pulled blob differs from the stored one"
[[ $(stat -c %a pulled.sealed) == 600 ]] || fail "pulled file mode $(stat -c %a pulled.sealed)"
expect_error pull-exists "exists" \
  "$crypta" model pull --tenant radiology --name resnet -o pulled.sealed "${as_user[@]}"
expect_ok pull-force "$crypta" model pull --tenant radiology --name resnet --digest "sha256:$digest" \
  -o pulled.sealed --force "${as_user[@]}"
expect_error pull-unknown-digest "no model radiology/resnet@sha256:0{64}" \
  "$crypta" model pull --tenant radiology --name resnet --digest "sha256:$(printf '0%.0s' {1..64})" \
  -o other.sealed "${as_user[@]}"
[[ -e other.sealed ]] && fail "a failed pull left a file"
expect_error pull-cross-tenant "permission denied" \
  "$crypta" model pull --tenant radiology --name resnet -o x.sealed "${as_other[@]}"

# --tee: the TEEs the model's key may be released to (validated, listed).
head -c 1000 /dev/urandom >small.pt
expect_ok push-tee "$crypta" model push --no-check --tenant radiology --key models --name small --in small.pt \
  --tee sim,tdx "${as_user[@]}"
expect_ok list-tee "$crypta" model list --tenant radiology "${as_user[@]}"
contains list-tee-row "^small +[0-9]+ +models +[0-9]+ +- +- +sim,tdx "
# --rotate-days: the key must rotate at least that often.
expect_error push-rotate-days "rotates only by hand" \
  "$crypta" model push --no-check --tenant radiology --key models --name r --in small.pt --rotate-days 30 \
  "${as_user[@]}"
expect_ok key-scheduled "$crypta" key create --tenant radiology monthly --rotate-days 30 "${dd[@]}"
expect_ok push-rotate-days-ok "$crypta" model push --no-check --tenant radiology --key monthly --name r \
  --in small.pt --rotate-days 90 "${as_user[@]}"
expect_error push-bad-tee 'unknown TEE "quantum"' \
  "$crypta" model push --no-check --tenant radiology --key models --name bad --in small.pt --tee quantum \
  "${as_user[@]}"

# rm: tenant admins only; removes the rows and the blob no other row references.
expect_error rm-user "permission denied" \
  "$crypta" model rm --tenant radiology --name resnet "${as_user[@]}"
expect_ok rm "$crypta" model rm --tenant radiology --name resnet "${dd[@]}"
contains rm-out "^removed $ref$"
[[ -e $blob ]] && fail "the removed model's blob is still stored"
expect_error rm-again "no model radiology/resnet" \
  "$crypta" model rm --tenant radiology --name resnet "${dd[@]}"
expect_ok list-after-rm "$crypta" model list --tenant radiology --output json "${as_user[@]}"
grep -q resnet out.txt && fail "removed model still listed"

expect_ok audit "$crypta" audit tail -n 100 "${dd[@]}"
contains audit-push " model.push +allow "
contains audit-delete " model.delete +allow "

stop_server
finish
