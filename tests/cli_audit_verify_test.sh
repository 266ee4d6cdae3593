#!/usr/bin/env bash
# `crypta audit verify` on a real control plane's data dir: passes on the untouched log,
# and names the entry when a stored entry is edited behind the server's back (an attacker
# with write access to the database, who also removes the append-only triggers).
# Usage: cli_audit_verify_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
work=$(mktemp -d)
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
data=$work/data

"$crypta" up --listen 127.0.0.1:0 --insecure-http --data-dir "$data" >"$work/up.log" 2>&1 &
server=$!
for _ in $(seq 100); do [[ -s $data/url ]] && break; sleep 0.1; done
[[ -s $data/url ]] || { cat "$work/up.log"; fail "crypta up did not start"; exit 1; }
"$crypta" tenant create radiology --data-dir "$data" >/dev/null || fail "tenant create"
"$crypta" key create --tenant radiology models --data-dir "$data" >/dev/null || fail "key create"
"$crypta" tenant create radiology --data-dir "$data" >/dev/null 2>&1 && fail "duplicate tenant accepted"
kill "$server" && wait "$server"
server=

"$crypta" audit verify --data-dir "$data" >"$work/out" 2>&1 || fail "untouched log: $(cat "$work/out")"
grep -q "audit log verified: [0-9]* entries, [1-9][0-9]* signed checkpoints" "$work/out" ||
  fail "verify output: $(cat "$work/out")"
echo "ok: untouched log verifies: $(cat "$work/out")"

# Edit one entry's reason, as someone with the database file could.
python3 - "$data/crypta.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
db.execute("UPDATE audit_entries SET reason = 'nothing to see here' WHERE seq = 1")
db.commit()
PY
if "$crypta" audit verify --data-dir "$data" >"$work/out" 2>&1; then
  fail "edited log verified"
else
  grep -q "seq 1" "$work/out" || fail "error does not name the edited entry: $(cat "$work/out")"
  [[ $(wc -l <"$work/out") -eq 1 ]] || fail "more than one line: $(cat "$work/out")"
  echo "ok: edited log rejected: $(cat "$work/out")"
fi
"$crypta" audit verify --data-dir "$work/nowhere" >/dev/null 2>&1 && fail "missing data dir verified"

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all audit verify checks passed"
