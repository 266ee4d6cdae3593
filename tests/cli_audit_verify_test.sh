#!/usr/bin/env bash
# `crypta audit verify` on a real control plane's data dir: passes on the untouched log
# (checkpoints signed before and after an EAR key rotation),
# and names the entry when a stored entry is edited behind the server's back (an attacker
# with write access to the database, who also removes the append-only triggers).
# Usage: cli_audit_verify_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
source "$(dirname "$0")/control_plane_lib.sh"

data=$work/data
start_server "$data"
expect_ok tenant "$crypta" tenant create radiology --data-dir "$data"
expect_ok key "$crypta" key create --tenant radiology models --data-dir "$data"
expect_error duplicate-tenant "radiology" "$crypta" tenant create radiology --data-dir "$data"
# Checkpoints signed before and after an EAR key rotation all verify offline.
expect_ok rotate "$crypta" attest rotate-key --data-dir "$data"
contains rotate "EAR signing key rotated: kid [A-Za-z0-9_-]+ \(previous [A-Za-z0-9_-]+ stays"
# The retired public key is archived in the data dir, or in the store shared by replicas.
if [[ ! -f $data/store.url ]]; then
  ls "$data"/ear-keys/*.pub.pem >/dev/null 2>&1 || fail "no archived EAR key"
fi
expect_ok key2 "$crypta" key create --tenant radiology other --data-dir "$data"
stop_server

expect_ok verify "$crypta" audit verify --data-dir "$data"
contains verify-output "audit log verified: [0-9]+ entries, [1-9][0-9]* signed checkpoints"
echo "ok: untouched log verifies: $(cat out.txt)"

# Edit one entry's reason, as someone with the database (file) could.
if [[ -f $data/store.url ]]; then
  expect_ok store-check "$crypta" store check --data-dir "$data"
  contains store-check "audit log verified"
  psql -X -q "$(cat "$data/store.url")" -c "ALTER TABLE audit_entries DISABLE TRIGGER \
    audit_entries_append_only; UPDATE audit_entries SET reason = 'nothing to see here' \
    WHERE seq = 1" >/dev/null || fail "could not edit the PostgreSQL store"
  expect_error store-check-edited "seq 1" "$crypta" store check --data-dir "$data"
else
  python3 - "$data/crypta.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
db.execute("UPDATE audit_entries SET reason = 'nothing to see here' WHERE seq = 1")
db.commit()
PY
fi
expect_error edited-entry "seq 1" "$crypta" audit verify --data-dir "$data"
echo "ok: edited log rejected: $(cat err.txt)"
expect_error missing-data-dir "no control-plane database" "$crypta" audit verify --data-dir "$work/nowhere"
finish
