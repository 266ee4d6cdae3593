#!/usr/bin/env bash
# End-to-end test of `crypta keygen/seal/unseal/inspect` as a user runs them.
# Usage: cli_seal_test.sh CRYPTA_BINARY
set -uo pipefail
crypta=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error NAME EXPECTED_SUBSTRING CMD...: non-zero exit, one line on stderr naming the
# problem, and no output file "out.bin" left behind.
expect_error() {
  local name=$1 want=$2
  shift 2
  rm -f out.bin
  if "$@" 2>err.txt >/dev/null; then fail "$name: exit status 0"; return; fi
  local lines
  lines=$(wc -l <err.txt)
  [[ $lines -eq 1 ]] || fail "$name: $lines lines on stderr: $(cat err.txt)"
  grep -q -- "$want" err.txt || fail "$name: stderr lacks '$want': $(cat err.txt)"
  [[ ! -e out.bin ]] || fail "$name: output file left behind"
  [[ -z $(find . -name '.out.bin.tmp-*') ]] || fail "$name: temporary file left behind"
  echo "ok: $name -> $(cat err.txt)"
}

# flip_byte FILE OFFSET: XOR one byte with 0x01 (writing a fixed value could be a no-op).
flip_byte() {
  python3 -c 'import sys; f=open(sys.argv[1],"r+b"); o=int(sys.argv[2]); f.seek(o); b=f.read(1); f.seek(o); f.write(bytes([b[0]^1]))' "$1" "$2"
}

"$crypta" keygen --out k >/dev/null || fail "keygen"
[[ $(stat -c %a k) == 600 ]] || fail "key file mode is $(stat -c %a k)"
[[ $(stat -c %s k) == 32 ]] || fail "key file size is $(stat -c %s k)"
"$crypta" keygen --out k2 >/dev/null || fail "keygen 2"
expect_error "keygen refuses to overwrite" "already exists" "$crypta" keygen --out k

# A 256 MiB file round-trips byte-identical.
head -c $((256 << 20)) /dev/urandom >model.bin
"$crypta" seal --key-file k --in model.bin --out model.sealed || fail "seal"
"$crypta" unseal --key-file k --in model.sealed --out out.bin || fail "unseal"
cmp -s model.bin out.bin && echo "ok: 256 MiB round trip is byte-identical" || fail "round trip differs"
"$crypta" unseal --key-file k --in model.sealed --out out1.bin --threads 1 || fail "unseal --threads 1"
cmp -s model.bin out1.bin || fail "single-thread round trip differs"
rm -f out.bin out1.bin

"$crypta" inspect model.sealed >inspect.json || fail "inspect"
python3 -c 'import json,sys; h=json.load(open("inspect.json")); assert h["plaintext_length"]==256<<20 and h["algorithm"]=="AES-256-GCM", h' \
  || fail "inspect output"

cp model.sealed flipped.sealed
flip_byte flipped.sealed $((100 << 20))
expect_error "flipped byte" "failed authentication" "$crypta" unseal -k k -i flipped.sealed -o out.bin
cp model.sealed header.sealed
flip_byte header.sealed 25
expect_error "edited header" "header was modified" "$crypta" unseal -k k -i header.sealed -o out.bin
head -c $(($(stat -c %s model.sealed) - 4096)) model.sealed >truncated.sealed
expect_error "truncated blob" "truncated" "$crypta" unseal -k k -i truncated.sealed -o out.bin
expect_error "wrong key" "wrong key" "$crypta" unseal -k k2 -i model.sealed -o out.bin
head -c 100 model.bin >notsealed.bin
expect_error "not a sealed blob" "not a crypta sealed blob" "$crypta" unseal -k k -i notsealed.bin -o out.bin
expect_error "bad key file" "exactly 32" "$crypta" unseal -k notsealed.bin -i model.sealed -o out.bin

# Issue 14: a FIFO or a directory as a file argument is a one-line error, never a hang.
mkfifo pipe
mkdir adir
for args in "seal -k k -i pipe -o x.sealed" "unseal -k pipe -i model.sealed -o x.bin" \
  "inspect pipe" "seal -k k -i adir -o x.sealed" "seal -k adir -i model.bin -o x.sealed"; do
  # shellcheck disable=SC2086
  timeout 10 "$crypta" $args >/dev/null 2>err.txt
  rc=$?
  [[ $rc == 1 || $rc == 2 ]] || fail "$args: exit $rc (124 = hung)"
  [[ $(wc -l <err.txt) == 1 ]] || fail "$args: want one stderr line: $(cat err.txt)"
  grep -qE "FIFO|directory" err.txt || fail "$args: does not say what the file is: $(cat err.txt)"
done

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all CLI seal checks passed"
