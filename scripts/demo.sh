#!/usr/bin/env bash
# `make demo`: a narrated walkthrough of sealing a model file with crypta.
# Usage: scripts/demo.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:-build/bin}" && pwd)
crypta="$bin/crypta"
work=$(mktemp -d "${TMPDIR:-/tmp}/crypta-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. Make a key-encryption key (32 random bytes, mode 0600)"
run "$crypta" keygen --out owner.key
ls -l owner.key

say "2. A stand-in for model weights: 96 MiB with a recognisable marker inside"
{ printf 'RADIOLOGY-MODEL-WEIGHTS-v1\n'; head -c $((96 << 20)) /dev/urandom; } >model.pt
ls -lh model.pt

say "3. Seal it: a fresh data key per file, chunked AES-256-GCM, the data key wrapped by owner.key"
run "$crypta" seal --key-file owner.key --in model.pt --out model.pt.sealed
ls -lh model.pt.sealed
if grep -q RADIOLOGY-MODEL-WEIGHTS model.pt.sealed; then
  echo "the marker is visible in the sealed file: this must not happen" >&2
  exit 1
fi
echo "the marker 'RADIOLOGY-MODEL-WEIGHTS' does not appear in the sealed file"

say "4. Anyone can read the header (it holds no secret); only the key opens the data"
run "$crypta" inspect model.pt.sealed

say "5. Unseal on all cores, and check the result is byte-identical"
run "$crypta" unseal --key-file owner.key --in model.pt.sealed --out model.restored.pt
cmp model.pt model.restored.pt && echo "model.restored.pt is byte-identical to model.pt"

say "6. Flip one byte in the middle of the sealed file: unsealing refuses and writes nothing"
cp model.pt.sealed tampered.sealed
python3 -c 'f=open("tampered.sealed","r+b"); f.seek(50 << 20); b=f.read(1); f.seek(50 << 20); f.write(bytes([b[0]^1]))'
run "$crypta" unseal --key-file owner.key --in tampered.sealed --out tampered.pt || echo "(exit status $?)"
[[ ! -e tampered.pt ]] && echo "no tampered.pt was written"

say "7. Cut the file short: refused"
head -c $(($(stat -c %s model.pt.sealed) - 1000)) model.pt.sealed >short.sealed
run "$crypta" unseal --key-file owner.key --in short.sealed --out short.pt || echo "(exit status $?)"

say "8. Another key: refused, and the error says which key sealed the file"
run "$crypta" keygen --out other.key >/dev/null
run "$crypta" unseal --key-file other.key --in model.pt.sealed --out other.pt || echo "(exit status $?)"

say "Done. Next: the key broker and attested TEEs release data keys to verified workloads only."
